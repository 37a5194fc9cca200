using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Hosting;
using SecureMx.MtaSts;
using SecureMx.Store;
using SecureMx.Tests.MtaSts;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>The background refresh of cached MTA-STS policies: a pass every minute, and a pass that fails does not end it.</summary>
public sealed class MtaStsRefreshServiceTests
{
    private const string Enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 86400\r\n";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ADuePolicyIsRefreshedByThePassesEvenAfterOneFailed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
        using var store = new TestStore(time);
        var fetcher = new ScriptedPolicyFetcher();
        fetcher.Record("v1");
        fetcher.Serve(Enforce);
        var repository = new MtaStsPolicyRepository(store.Database);
        var cache = new MtaStsPolicyCache(fetcher, repository, time);
        await cache.GetAsync("example.org", Ct);
        var fetchedAt = repository.Get("example.org")!.FetchedAt;
        time.Advance(TimeSpan.FromHours(12));
        // The first refresh pass breaks down (a bug, not a fetch failure): the service logs it and goes on.
        fetcher.DuringFetch = () =>
        {
            fetcher.DuringFetch = null;
            throw new InvalidOperationException("boom");
        };
        using var service = new MtaStsRefreshService(cache, time, NullLogger<MtaStsRefreshService>.Instance);
        await service.StartAsync(Ct);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (repository.Get("example.org")!.FetchedAt == fetchedAt && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(20, Ct);
        }
        await service.StopAsync(Ct);
        Assert.NotEqual(fetchedAt, repository.Get("example.org")!.FetchedAt);
        Assert.True(fetcher.Fetches >= 3, $"{fetcher.Fetches} fetches"); // the first, the one that broke, the refresh
    }
}
