using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Hosting;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The service that keeps a node's directory cache current, with an in-process change feed standing
/// in for LISTEN/NOTIFY (the PostgreSQL feed itself is tested against a real server): the first
/// snapshot before start returns, a reload per notification, reconnection after a lost feed with a
/// reload of what changed meanwhile, and the periodic full reload.
/// </summary>
public sealed class DirectoryCacheServiceTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();

    public void Dispose() => _store.Dispose();

    /// <summary>A feed whose connection the test drops and whose notifications it sends.</summary>
    private sealed class InProcessFeed : IDirectoryChangeFeed
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource? _connection;
        private Action? _changed;
        public int Connections;
        public volatile bool Refuse;

        public async Task ListenAsync(Action connected, Action changed, CancellationToken ct)
        {
            if (Refuse) throw new IOException("connection refused");
            var connection = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _connection = connection;
                _changed = changed;
            }
            Interlocked.Increment(ref Connections);
            connected();
            await connection.Task.WaitAsync(ct);
        }

        public void Notify()
        {
            lock (_gate) _changed?.Invoke();
        }

        public void Drop()
        {
            lock (_gate) _connection?.TrySetException(new IOException("connection lost"));
        }
    }

    private static async Task Eventually(Func<bool> condition, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met in time");
            await Task.Delay(10);
        }
    }

    private void AddBehindTheRepository(string domain) =>
        _store.Database.Execute("INSERT INTO domains(name, created_at) VALUES(@d, 0)", ("@d", domain));

    [Fact]
    public async Task TheFirstSnapshotIsLoadedBeforeStartReturnsAndANotificationBringsAChangeInWellUnderTwoSeconds()
    {
        var feed = new InProcessFeed();
        var cache = DirectoryCache.For(_store.Database, TimeProvider.System, NullLogger.Instance);
        using var service = new DirectoryCacheService(cache, feed, TimeProvider.System, NullLogger<DirectoryCacheService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(cache.Current!.Value.Snapshot.IsHosted("example.org"));
            await Eventually(() => cache.Current?.Authoritative == true, TimeSpan.FromSeconds(5));

            AddBehindTheRepository("notified.example");
            var changedAt = DateTime.UtcNow;
            feed.Notify();
            await Eventually(() => cache.Current?.Snapshot.IsHosted("notified.example") == true, TimeSpan.FromSeconds(2));
            Assert.True(DateTime.UtcNow - changedAt < TimeSpan.FromSeconds(2));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task ALostFeedIsReconnectedAndWhatChangedMeanwhileIsLoaded()
    {
        var feed = new InProcessFeed();
        var cache = DirectoryCache.For(_store.Database, TimeProvider.System, NullLogger.Instance);
        using var service = new DirectoryCacheService(cache, feed, TimeProvider.System, NullLogger<DirectoryCacheService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            await Eventually(() => cache.Current?.Authoritative == true, TimeSpan.FromSeconds(5));
            feed.Refuse = true; // the store stays away for the first reconnection attempt
            feed.Drop();
            await Eventually(() => cache.Current?.Authoritative == false, TimeSpan.FromSeconds(5));
            Assert.True(cache.Current!.Value.Snapshot.IsHosted("example.org")); // the last good snapshot stays in use

            AddBehindTheRepository("while-away.example"); // no notification reaches this node
            feed.Refuse = false;
            await Eventually(() => feed.Connections == 2 && cache.Current?.Authoritative == true, TimeSpan.FromSeconds(10));
            Assert.True(cache.Current!.Value.Snapshot.IsHosted("while-away.example"));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task AFullReloadEveryRefreshIntervalCatchesAChangeWhoseNotificationWasLost()
    {
        var time = new SteppingTimeProvider(DateTimeOffset.UtcNow);
        var feed = new InProcessFeed();
        var cache = DirectoryCache.For(_store.Database, time, NullLogger.Instance);
        using var service = new DirectoryCacheService(cache, feed, time, NullLogger<DirectoryCacheService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            await Eventually(() => cache.Current?.Authoritative == true && time.PendingOneShotCount > 0, TimeSpan.FromSeconds(5));
            AddBehindTheRepository("lost-notification.example");
            time.Advance(DirectoryCacheService.RefreshInterval - TimeSpan.FromSeconds(1));
            await Task.Delay(200);
            Assert.False(cache.Current!.Value.Snapshot.IsHosted("lost-notification.example"));
            time.Advance(TimeSpan.FromSeconds(1));
            await Eventually(() => cache.Current?.Snapshot.IsHosted("lost-notification.example") == true, TimeSpan.FromSeconds(5));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }
}
