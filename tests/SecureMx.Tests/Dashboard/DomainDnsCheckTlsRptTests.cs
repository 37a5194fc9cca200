using SecureMx.Dashboard;
using SecureMx.Dns;
using SecureMx.Tests.Queue;
using SecureMx.Tls;

namespace SecureMx.Tests.Dashboard;

/// <summary>The DNS check's "_smtp._tls" row (RFC 8460 §3): published with our report address, elsewhere, missing or unusable.</summary>
public sealed class DomainDnsCheckTlsRptTests
{
    private static readonly string[] Rua = ["mailto:tlsrpt@customer.test", "https://mta-sts.customer.test/tlsrpt"];

    private sealed class TxtDns(params string[] records) : IMailDnsResolver
    {
        private readonly FakeMailDns _inner = new(TimeProvider.System, FakeMailDns.ServFail)
        {
            Tlsa = (host, port) => TlsaResolution.FromAnswer(TlsaResolution.OwnerName(host, port), DnsAnswer<TlsaRecordData>.Fail("SERVFAIL")),
        };

        public List<string> Names { get; } = new();

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) => _inner.ResolveMxAsync(domain, cancellationToken);

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) => _inner.ResolveAddressesAsync(host, cancellationToken);

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) => _inner.ResolveTlsaAsync(host, port, cancellationToken);

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default)
        {
            lock (Names) Names.Add(name);
            return Task.FromResult(records.Length == 1 && records[0] == "SERVFAIL" ? TxtResolution.Failed(name, "SERVFAIL")
                : TxtResolution.Found(name, records, DnsSecurity.Insecure));
        }
    }

    private static async Task<DomainDnsCheckResult> RunAsync(TxtDns dns) =>
        await new DomainDnsCheck(dns, TimeProvider.System).CheckAsync("customer.test", "secure.provider.test", null, [], null, TestContext.Current.CancellationToken, tlsRptRua: Rua);

    [Theory]
    [InlineData(TlsRptTxtVerdict.Matches, CheckLevel.Ok, "v=spf1 -all", "v=TLSRPTv1; rua=https://reports.example/x,MAILTO:TLSRPT@customer.test")]
    [InlineData(TlsRptTxtVerdict.Other, CheckLevel.Warn, "v=TLSRPTv1; rua=mailto:reports@elsewhere.example")]
    [InlineData(TlsRptTxtVerdict.Missing, CheckLevel.Warn, "v=spf1 -all")]
    [InlineData(TlsRptTxtVerdict.Invalid, CheckLevel.Bad, "v=TLSRPTv1; rua=mailto:tlsrpt@customer.test", "v=TLSRPTv1; rua=mailto:x@y.example")]
    [InlineData(TlsRptTxtVerdict.Invalid, CheckLevel.Bad, "v=TLSRPTv1;")]
    [InlineData(TlsRptTxtVerdict.LookupFailed, CheckLevel.Bad, "SERVFAIL")]
    // As the report sender's parser (TlsRptRecord) reads it: the version exactly, rua= in lower case, a mailto: query dropped and %-escapes decoded,
    // and any URI we offer (our https: endpoint alone is ours too).
    [InlineData(TlsRptTxtVerdict.Missing, CheckLevel.Warn, "v=TLSRPTv10; rua=mailto:tlsrpt@customer.test")]
    [InlineData(TlsRptTxtVerdict.Invalid, CheckLevel.Bad, "v=TLSRPTv1; RUA=mailto:tlsrpt@customer.test")]
    [InlineData(TlsRptTxtVerdict.Matches, CheckLevel.Ok, "v=TLSRPTv1; rua=mailto:tlsrpt@customer.test?subject=tls")]
    [InlineData(TlsRptTxtVerdict.Matches, CheckLevel.Ok, "v=TLSRPTv1; rua=mailto:tlsrpt%40customer.test")]
    [InlineData(TlsRptTxtVerdict.Matches, CheckLevel.Ok, "v=TLSRPTv1; rua=https://mta-sts.customer.test/tlsrpt")]
    [InlineData(TlsRptTxtVerdict.Other, CheckLevel.Warn, "v=TLSRPTv1; rua=https://mta-sts.customer.test/other")]
    public async Task TheRecordIsJudgedAsASenderReadsIt(TlsRptTxtVerdict verdict, CheckLevel level, params string[] records)
    {
        var dns = new TxtDns(records);
        var r = await RunAsync(dns);
        Assert.Equal((verdict, level), (r.TlsRpt, r.TlsRptLevel));
        Assert.Equal(["_smtp._tls.customer.test"], dns.Names);
    }

    [Fact]
    public async Task WithoutAnExpectedAddressTheRecordIsNotAsked()
    {
        var dns = new TxtDns("v=TLSRPTv1; rua=mailto:tlsrpt@customer.test");
        var r = await new DomainDnsCheck(dns, TimeProvider.System).CheckAsync("customer.test", "secure.provider.test", null, [], null, TestContext.Current.CancellationToken);
        Assert.Null(r.TlsRpt);
        Assert.Empty(dns.Names);
    }
}
