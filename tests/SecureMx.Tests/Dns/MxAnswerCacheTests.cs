using Microsoft.Extensions.Time.Testing;
using SecureMx.Dns;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dns;

/// <summary>
/// MX answers kept by <see cref="MailDnsResolver"/> (<see cref="MxAnswerCache"/>): asked once within their TTL and
/// never kept beyond a minute, with the DNSSEC status they came with; equal preferences shuffled for every lookup;
/// NXDOMAIN and answers without records asked again. A <see cref="LoopbackDnsServer"/> plays the resolver and counts
/// the questions it gets.
/// </summary>
public sealed class MxAnswerCacheTests : IAsyncDisposable
{
    private readonly LoopbackDnsServer _server = new() { Ttl = 300 };
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);

    private int Questions => _server.Questions;

    private MailDnsResolver NewResolver(int seed = 1) => new(_server.Endpoint, TimeSpan.FromSeconds(2), new Random(seed), _time);

    private void AddMx(string domain, params (int Preference, string Exchange)[] records)
    {
        if (records.Length == 0) _server.AddName(domain);
        foreach (var (preference, exchange) in records) _server.Add(domain, LoopbackDnsServer.Mx, LoopbackDnsServer.MxData(preference, exchange));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ASecondLookupWithinTheTtlIsAnsweredWithoutAskingTheResolver()
    {
        AddMx("dest.test", (10, "mx1.dest.test"), (20, "mx2.dest.test"));
        _server.Authenticated = true;
        var resolver = NewResolver();

        var first = await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(29));
        var second = await resolver.ResolveMxAsync("DEST.test.", Ct);

        Assert.Equal(1, Questions);
        Assert.Equal(first.Targets.Select(t => t.Name), second.Targets.Select(t => t.Name));
        Assert.Equal(["mx1.dest.test", "mx2.dest.test"], second.Targets.Select(t => t.Name));
        Assert.Equal(DnsSecurity.Secure, second.Security); // the AD bit of the answer it was kept from
    }

    [Fact]
    public async Task AnAnswerIsAskedForAgainWhenItsTtlIsUp()
    {
        AddMx("dest.test", (10, "mx1.dest.test"));
        _server.Ttl = 30;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(30));
        await resolver.ResolveMxAsync("dest.test", Ct);

        Assert.Equal(2, Questions);
    }

    [Fact]
    public async Task NoAnswerIsKeptLongerThanAMinuteWhateverItsTtl()
    {
        AddMx("dest.test", (10, "mx1.dest.test"));
        _server.Ttl = 86400;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(59));
        await resolver.ResolveMxAsync("dest.test", Ct);
        Assert.Equal(1, Questions);
        _time.Advance(TimeSpan.FromSeconds(1));
        await resolver.ResolveMxAsync("dest.test", Ct);
        Assert.Equal(2, Questions);
    }

    [Fact]
    public async Task HostsOfEqualPreferenceAreShuffledForEveryLookupFromTheKeptAnswer()
    {
        AddMx("dest.test", (10, "a.dest.test"), (10, "b.dest.test"));
        var resolver = NewResolver(seed: 7);

        var firsts = new HashSet<string>();
        for (int i = 0; i < 40; i++) firsts.Add((await resolver.ResolveMxAsync("dest.test", Ct)).Targets[0].Name);

        Assert.Equal(1, Questions);
        Assert.Equal(["a.dest.test", "b.dest.test"], firsts.Order());
    }

    [Fact]
    public async Task NxDomainAndAnswersWithoutRecordsAreAskedForAgain()
    {
        AddMx("norecords.test");
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("nowhere.test", Ct);
        await resolver.ResolveMxAsync("nowhere.test", Ct);
        await resolver.ResolveMxAsync("norecords.test", Ct);
        await resolver.ResolveMxAsync("norecords.test", Ct);

        Assert.Equal(4, Questions);
    }

    [Fact]
    public async Task AZeroTtlIsNotKept()
    {
        AddMx("dest.test", (10, "mx1.dest.test"));
        _server.Ttl = 0;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        await resolver.ResolveMxAsync("dest.test", Ct);

        Assert.Equal(2, Questions);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
