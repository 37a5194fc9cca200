using System.Net;
using SecureMx.MailAuth.Spf;

namespace SecureMx.Tests.MailAuth.Spf;

/// <summary>Hostile and failing DNS beyond the RFC suite: loops, floods, huge records, a resolver that is gone, a budget that runs out.</summary>
public sealed class SpfEvaluatorTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.10");

    private static Task<SpfVerdict> Check(InMemoryDns dns, string domain, CancellationToken ct = default) =>
        new SpfEvaluator(dns).CheckHostAsync(Client, domain, "someone@" + domain, "mail." + domain, "mx.receiver.example", ct);

    [Fact]
    public async Task AnIncludeLoopEndsInPermerrorAfterTenLookups()
    {
        var dns = new InMemoryDns().Txt("loop.example", "v=spf1 include:loop.example -all");
        var verdict = await Check(dns, "loop.example", TestContext.Current.CancellationToken);
        Assert.Equal(SpfResult.PermError, verdict.Result);
        Assert.True(dns.Queries <= 12, $"{dns.Queries} queries");
    }

    [Fact]
    public async Task AHundredMechanismsThatQueryDnsArePermerrorAfterTheTenth()
    {
        var record = "v=spf1 " + string.Join(' ', Enumerable.Range(0, 100).Select(i => $"a:h{i}.flood.example")) + " -all";
        var dns = new InMemoryDns().Txt("flood.example", record);
        for (int i = 0; i < 100; i++) dns.A($"h{i}.flood.example", "198.51.100.1");
        var verdict = await Check(dns, "flood.example", TestContext.Current.CancellationToken);
        Assert.Equal(SpfResult.PermError, verdict.Result);
        Assert.Equal(11, dns.Queries); // the record, then ten a: lookups
    }

    [Fact]
    public async Task AThirdVoidLookupIsPermerror()
    {
        var dns = new InMemoryDns().Txt("void.example", "v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example ip4:192.0.2.10 -all");
        Assert.Equal(SpfResult.PermError, (await Check(dns, "void.example", TestContext.Current.CancellationToken)).Result);
    }

    [Fact]
    public async Task AHugeRecordIsReadAndEvaluated()
    {
        var record = "v=spf1 " + string.Join(' ', Enumerable.Range(0, 5000).Select(i => $"ip4:10.{i / 256 % 256}.{i % 256}.0/24")) + " ip4:192.0.2.0/24 -all";
        var dns = new InMemoryDns().Txt("huge.example", record);
        Assert.Equal(SpfResult.Pass, (await Check(dns, "huge.example", TestContext.Current.CancellationToken)).Result);
    }

    [Fact]
    public async Task AResolverThatTimesOutGivesTemperror()
    {
        var dns = new InMemoryDns().Timeout("gone.example");
        var verdict = await Check(dns, "gone.example", TestContext.Current.CancellationToken);
        Assert.Equal(SpfResult.TempError, verdict.Result);
        Assert.Contains("timeout", verdict.Problem);
    }

    [Fact]
    public async Task ARunOutTimeBudgetGivesTemperror()
    {
        using var cts = new CancellationTokenSource();
        var dns = new CancellingDns(cts);
        var verdict = await new SpfEvaluator(dns).CheckHostAsync(Client, "slow.example", "a@slow.example", "h.slow.example", "mx", cts.Token);
        Assert.Equal(SpfResult.TempError, verdict.Result);
    }

    [Theory]
    [InlineData("v=spf1 ip4:192.0.2.0/24 -all", SpfResult.Pass)]
    [InlineData("v=spf1 ip4:198.51.100.1 -all", SpfResult.Fail)]
    [InlineData("v=spf1 ip4:198.51.100.1 ~all", SpfResult.SoftFail)]
    [InlineData("v=spf1 ip4:198.51.100.1 ?all", SpfResult.Neutral)]
    [InlineData("v=spf1 ip4:198.51.100.1", SpfResult.Neutral)]
    [InlineData("v=spf1 ip4:192.0.2.300 -all", SpfResult.PermError)]
    public async Task EachQualifierGivesItsResult(string record, SpfResult expected)
    {
        var dns = new InMemoryDns().Txt("q.example", record);
        Assert.Equal(expected, (await Check(dns, "q.example", TestContext.Current.CancellationToken)).Result);
    }

    [Fact]
    public async Task ADomainWithoutARecordIsNone()
    {
        Assert.Equal(SpfResult.None, (await Check(new InMemoryDns().Txt("none.example", "google-site-verification=x"), "none.example", TestContext.Current.CancellationToken)).Result);
    }

    /// <summary>Cancels the budget on the first question, as a timer would while the resolver is slow.</summary>
    private sealed class CancellingDns(CancellationTokenSource cts) : SecureMx.Dns.IDnsRecordLookup
    {
        public Task<SecureMx.Dns.DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default)
        {
            cts.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(SecureMx.Dns.DnsLookup.NoData<string>());
        }

        public Task<SecureMx.Dns.DnsLookup<IPAddress>> AddressesAsync(string name, System.Net.Sockets.AddressFamily family, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<SecureMx.Dns.DnsLookup<SecureMx.Dns.MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<SecureMx.Dns.DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
