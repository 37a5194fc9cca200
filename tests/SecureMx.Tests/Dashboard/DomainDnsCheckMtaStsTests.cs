using SecureMx.Dashboard;
using SecureMx.Dns;
using SecureMx.Tests.Queue;
using SecureMx.Tls;

namespace SecureMx.Tests.Dashboard;

/// <summary>The DNS check's "_mta-sts" row: the TXT record as a sender reads it, against the id served now.</summary>
public sealed class DomainDnsCheckMtaStsTests
{
    private const string Domain = "customer.test";
    private const string Id = "0123456789abcdef0123456789abcdef";

    /// <summary>MX and TLSA fail (they are not what is tested here); TXT answers as given, and records the names asked.</summary>
    private sealed class TxtDns(Func<string, Task<TxtResolution>> txt) : IMailDnsResolver
    {
        private readonly FakeMailDns _inner = new(TimeProvider.System, FakeMailDns.ServFail)
        {
            Tlsa = (host, port) => TlsaResolution.FromAnswer(TlsaResolution.OwnerName(host, port), DnsAnswer<TlsaRecordData>.Fail("SERVFAIL")),
        };

        public List<string> TxtNames { get; } = new();

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) => _inner.ResolveMxAsync(domain, cancellationToken);

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) => _inner.ResolveAddressesAsync(host, cancellationToken);

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) => _inner.ResolveTlsaAsync(host, port, cancellationToken);

        public async Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default)
        {
            lock (TxtNames) TxtNames.Add(name);
            return await txt(name);
        }
    }

    private static Task<DomainDnsCheckResult> RunAsync(IMailDnsResolver dns, string? id = Id, TimeSpan? timeout = null) =>
        new DomainDnsCheck(dns, TimeProvider.System, timeout).CheckAsync(Domain, "secure.provider.test", null, [], null, TestContext.Current.CancellationToken, mtaStsId: id);

    private static TxtDns Answer(params string[] records) => new(name => Task.FromResult(TxtResolution.Found(name, records, DnsSecurity.Insecure)));

    [Fact]
    public async Task TheRecordWithTheCurrentIdIsOk()
    {
        var dns = Answer("v=spf1 -all", $"v=STSv1; id={Id};");
        var r = await RunAsync(dns);
        Assert.Equal((MtaStsTxtVerdict.Matches, CheckLevel.Ok), (r.MtaSts, r.MtaStsLevel));
        Assert.Equal(["_mta-sts.customer.test"], dns.TxtNames);
    }

    [Fact]
    public async Task AnotherIdIsBadAndNamed()
    {
        var r = await RunAsync(Answer("v=STSv1; id=20260101;"));
        Assert.Equal((MtaStsTxtVerdict.OtherId, CheckLevel.Bad, "20260101"), (r.MtaSts, r.MtaStsLevel, r.MtaStsDetail));
    }

    [Fact]
    public async Task NoRecordIsAWarning()
    {
        var r = await RunAsync(new TxtDns(name => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure))));
        Assert.Equal((MtaStsTxtVerdict.Missing, CheckLevel.Warn), (r.MtaSts, r.MtaStsLevel));
        Assert.Equal(MtaStsTxtVerdict.Missing, (await RunAsync(Answer("v=spf1 -all"))).MtaSts);
    }

    [Fact]
    public async Task TwoRecordsOrAnUnreadableOneAreBad()
    {
        var two = await RunAsync(Answer($"v=STSv1; id={Id};", "v=STSv1; id=other;"));
        Assert.Equal((MtaStsTxtVerdict.Invalid, CheckLevel.Bad), (two.MtaSts, two.MtaStsLevel));
        Assert.Contains("exactly one", two.MtaStsDetail);
        Assert.Equal(MtaStsTxtVerdict.Invalid, (await RunAsync(Answer("v=STSv1; id=not-alphanumeric;"))).MtaSts);
    }

    [Fact]
    public async Task AFailedOrSlowLookupIsBad()
    {
        var failed = await RunAsync(new TxtDns(name => Task.FromResult(TxtResolution.Failed(name, "SERVFAIL"))));
        Assert.Equal((MtaStsTxtVerdict.LookupFailed, "SERVFAIL"), (failed.MtaSts, failed.MtaStsDetail));
        var never = new TaskCompletionSource<TxtResolution>();
        var slow = await RunAsync(new TxtDns(_ => never.Task), timeout: TimeSpan.FromMilliseconds(200)).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(MtaStsTxtVerdict.TimedOut, slow.MtaSts);
        never.SetResult(TxtResolution.NoRecords("x", DnsSecurity.Secure));
    }

    [Fact]
    public async Task WithoutAPolicyServedNothingIsAskedOrShown()
    {
        var dns = Answer($"v=STSv1; id={Id};");
        var r = await RunAsync(dns, id: null);
        Assert.Null(r.MtaSts);
        Assert.Null(r.MtaStsLevel);
        Assert.Empty(dns.TxtNames);
    }
}
