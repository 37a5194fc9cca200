using System.Net;
using System.Net.Sockets;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Tls;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// `securemx probe` judges only what DNS answered: a lookup that failed is "cannot judge", never
/// "insecure" or "no" (delivery would wait for DNS, so nothing can be said about what it would meet).
/// </summary>
public sealed class TlsProbeTests
{
    private static SecureMxOptions Options(int smtpPort) => new() { Hostname = "mx.test", Delivery = { SmtpPort = smtpPort, ConnectTimeoutSeconds = 2 } };

    [Fact]
    public async Task AResolverThatDoesNotAnswerCannotBeJudged()
    {
        // A real resolver client against a socket that takes the queries and never answers.
        using var silent = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = new MailDnsResolver((IPEndPoint)silent.Client.LocalEndPoint!, TimeSpan.FromMilliseconds(200));
        var probe = new TlsProbe(resolver, Options(LoopbackPort.Closed()), TimeProvider.System);

        var report = await probe.ProbeAsync("example.test", TestContext.Current.CancellationToken);

        Assert.False(report.Judged);
        Assert.Null(report.MandatoryTlsWorks);
        Assert.Null(report.DaneVerifies);
        Assert.StartsWith("cannot judge: the MX lookup of example.test failed: timeout", report.MandatoryTlsVerdict);
        Assert.StartsWith("cannot judge: ", report.DaneVerdict);
        Assert.DoesNotContain("not DNSSEC-signed", report.DaneVerdict);
        Assert.Equal("unknown (lookup failed)", report.MxDnssec);
    }

    [Fact]
    public async Task AFailedTlsaLookupCannotBeJudgedEitherWay()
    {
        // Delivery would wait for the TLSA answer whatever the level, so neither verdict holds now.
        var dns = new FixedDns(DnsAnswerStatus.Failure);
        var probe = new TlsProbe(dns, Options(LoopbackPort.Closed()), TimeProvider.System);

        var report = await probe.ProbeAsync("example.test", TestContext.Current.CancellationToken);

        Assert.False(report.Judged);
        // The TLSA name carries the delivery port (the test's closed port).
        Assert.Matches(@"^cannot judge: the TLSA lookup of _\d+\._tcp\.mx\.example\.test failed: SERVFAIL", report.DaneVerdict);
        Assert.Equal(report.DaneVerdict, report.MandatoryTlsVerdict);
        Assert.Equal("secure", report.MxDnssec);
    }

    [Fact]
    public async Task AnsweredLookupsAreJudgedEvenWhenTheAnswerIsNo()
    {
        var dns = new FixedDns(DnsAnswerStatus.NoData);
        var probe = new TlsProbe(dns, Options(LoopbackPort.Closed()), TimeProvider.System);

        var report = await probe.ProbeAsync("example.test", TestContext.Current.CancellationToken);

        Assert.True(report.Judged);
        Assert.False(report.MandatoryTlsWorks);
        Assert.StartsWith("no: mx.example.test[127.0.0.1]: ", report.MandatoryTlsVerdict);
        Assert.Equal("no: no MX host publishes TLSA records", report.DaneVerdict);
    }

    /// <summary>A DNSSEC-signed domain with one MX host on 127.0.0.1 and the given TLSA answer.</summary>
    private sealed class FixedDns(DnsAnswerStatus tlsa) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx." + domain, 10)], DnsSecurity.Secure, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) =>
            Task.FromResult(AddressResolution.Combine(host,
                DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Secure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Secure)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure)); // no MTA-STS

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) =>
            Task.FromResult(TlsaResolution.FromAnswer(TlsaResolution.OwnerName(host, port), tlsa switch
            {
                DnsAnswerStatus.Failure => DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"),
                _ => DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure),
            }));
    }
}
