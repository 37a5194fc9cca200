using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Store;
using SecureMx.Telemetry;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The directory cache: reloads coalesce (one running, one waiting, whatever the burst); a failed
/// load keeps the last good snapshot; a local change sets the snapshot aside until it is in a new
/// one; and the repositories answer from it — a hit always, a miss only while the change feed
/// vouches for the snapshot, else from the store, which may fail.
/// </summary>
public sealed class DirectoryCacheTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();

    public void Dispose() => _store.Dispose();

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>A loader that counts its calls and, while <see cref="Hold"/> is reset, waits for it.</summary>
    private sealed class GatedLoader(TestStore store)
    {
        public readonly ManualResetEventSlim Hold = new(true);
        public readonly SemaphoreSlim Entered = new(0);
        public int Calls;
        public Exception? Fail;

        public DirectorySnapshot Load(DateTimeOffset at)
        {
            Interlocked.Increment(ref Calls);
            Entered.Release();
            Hold.Wait(Patience);
            if (Fail is { } e) throw e;
            return DirectorySnapshot.Load(store.Database, at);
        }
    }

    private DirectoryCache Cache(GatedLoader loader) => new(loader.Load, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task ABurstOfRequestsDuringALoadCostsOneMoreLoadAndEveryRequestIsAnsweredByALoadThatBeganAfterIt()
    {
        var loader = new GatedLoader(_store);
        var cache = Cache(loader);
        loader.Hold.Reset();
        var first = cache.ReloadAsync();
        Assert.True(await loader.Entered.WaitAsync(Patience));
        _store.Mailboxes.AddDomain("burst.example"); // made while the first load runs: only a later load has it
        var burst = Enumerable.Range(0, 50).Select(_ => cache.ReloadAsync()).ToList();
        Assert.False(burst[0].IsCompleted);
        loader.Hold.Set();
        Assert.True(await first.WaitAsync(Patience));
        foreach (var t in burst) Assert.True(await t.WaitAsync(Patience));
        Assert.Equal(2, loader.Calls);
        Assert.True(cache.Current!.Value.Snapshot.IsHosted("burst.example"));
    }

    [Fact]
    public async Task AFailedLoadKeepsTheLastGoodSnapshotAndIsCounted()
    {
        var loader = new GatedLoader(_store);
        var cache = Cache(loader);
        Assert.True(await cache.FeedConnected());
        var good = cache.Current!.Value.Snapshot;
        Assert.True(cache.Current!.Value.Authoritative);

        var failed = CountReloads("failed");
        loader.Fail = new SqliteException("store gone", 10);
        Assert.False(await cache.ReloadAsync());
        Assert.Same(good, cache.Current!.Value.Snapshot);
        Assert.False(cache.Current!.Value.Authoritative); // the last load failed: a miss is no longer trusted
        Assert.True(failed() >= 1);

        loader.Fail = null;
        Assert.True(await cache.ReloadAsync());
        Assert.True(cache.Current!.Value.Authoritative);
        Assert.NotSame(good, cache.Current!.Value.Snapshot);
    }

    [Fact]
    public async Task ASnapshotIsAuthoritativeOnlyWhenLoadedWhileTheFeedListens()
    {
        var cache = Cache(new GatedLoader(_store));
        Assert.Null(cache.Current);
        await cache.ReloadAsync();
        Assert.False(cache.Current!.Value.Authoritative); // no feed yet: a change may be missed
        Assert.True(await cache.FeedConnected());
        Assert.True(cache.Current!.Value.Authoritative);
        cache.FeedLost();
        Assert.False(cache.Current!.Value.Authoritative);
        Assert.NotNull(cache.Current); // still served
    }

    [Fact]
    public async Task AChangeThroughTheRepositoryIsReadBackAtOnceAndReachesTheSnapshot()
    {
        var loader = new GatedLoader(_store);
        var cache = Cache(loader);
        await cache.FeedConnected();
        var mailboxes = new MailboxRepository(_store.Database, TimeProvider.System, cache);
        loader.Hold.Reset(); // the reload the change starts waits: the read must not need it
        mailboxes.AddDomain("fresh.example");
        Assert.Null(cache.Current);
        Assert.True(mailboxes.IsHosted("fresh.example"));
        loader.Hold.Set();
        Assert.True(await cache.ReloadAsync());
        Assert.True(cache.Current!.Value.Snapshot.IsHosted("fresh.example"));
    }

    [Fact]
    public async Task WhileTheFeedVouchesTheSnapshotAnswersEvenAMissWithoutTheStore()
    {
        var cache = Cache(new GatedLoader(_store));
        await cache.FeedConnected();
        var mailboxes = new MailboxRepository(_store.Database, TimeProvider.System, cache);
        var policies = new TlsPolicyRepository(_store.Database, TimeProvider.System, cache);
        // Written behind the repository's back (as psql would, before its notification arrives): not seen yet.
        _store.Database.Execute("INSERT INTO domains(name, created_at) VALUES('behind.example', 0)");
        Assert.Null(mailboxes.LookupRecipient("behind.example", ["a@behind.example"]));
        Assert.False(mailboxes.IsHosted("behind.example"));
        Assert.Null(policies.DomainInboundTls("behind.example"));
        await cache.ReloadAsync();
        Assert.NotNull(mailboxes.LookupRecipient("behind.example", ["a@behind.example"]));
    }

    [Fact]
    public async Task WithoutTheFeedAHitIsServedFromTheSnapshotAndAMissAsksTheStore()
    {
        var cache = Cache(new GatedLoader(_store));
        await cache.FeedConnected();
        cache.FeedLost();
        var mailboxes = new MailboxRepository(_store.Database, TimeProvider.System, cache);
        _store.Database.Execute("INSERT INTO domains(name, created_at) VALUES('behind.example', 0)");
        Assert.NotNull(mailboxes.LookupRecipient("behind.example", ["a@behind.example"])); // asked the store

        BreakTheStore();
        var hit = mailboxes.LookupRecipient("example.org", ["alice@example.org"]);
        Assert.Equal("alice@example.org", hit!.Match);
        Assert.True(mailboxes.AddressBelongsTo("sales@example.org", "alice@example.org"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => mailboxes.LookupRecipient("unknown.example", ["a@unknown.example"]));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => mailboxes.LookupRecipient("example.org", ["nobody@example.org"]));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => mailboxes.AddressBelongsTo("carol@other.test", "alice@example.org"));
    }

    [Fact]
    public async Task TheOutboundSettingsAreServedFromTheLastGoodSnapshotMissesIncludedSoTheQueueKeepsDelivering()
    {
        _store.Policies.SetMailboxOutboundTls("alice@example.org", SecureMx.Mail.OutboundTlsSetting.Mandatory, "test");
        _store.Policies.SetDestinationTls("bank.example", SecureMx.Mail.OutboundTlsLevel.Verify, "test");
        var cache = Cache(new GatedLoader(_store));
        await cache.FeedConnected();
        cache.FeedLost();
        BreakTheStore();
        _store.Database.Execute("ALTER TABLE tls_destinations RENAME TO tls_destinations_gone");
        var policy = new SecureMx.Policy.OutboundTlsPolicy(new TlsPolicyRepository(_store.Database, TimeProvider.System, cache), new SecureMx.Config.DeliveryOptions());
        // A subaddress of alice: the sender's own address is a miss, its base a hit.
        Assert.Equal(SecureMx.Mail.OutboundTlsLevel.Verify, policy.For(null, "alice+news@example.org", "bank.example").Level);
        Assert.Equal(SecureMx.Mail.OutboundTlsLevel.Encrypt, policy.For(null, "alice+news@example.org", "elsewhere.example").Level);
        Assert.Equal(policy.DefaultLevel, policy.For(null, "", "elsewhere.example").Level);
    }

    [Fact]
    public async Task TheAgeCountsFromTheLastGoodLoad()
    {
        var time = new SteppingTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var loader = new GatedLoader(_store);
        var cache = new DirectoryCache(loader.Load, time, NullLogger.Instance);
        Assert.Null(cache.AgeSeconds);
        await cache.ReloadAsync();
        time.Advance(TimeSpan.FromSeconds(42));
        loader.Fail = new SqliteException("store gone", 10);
        await cache.ReloadAsync();
        Assert.Equal(42, cache.AgeSeconds!.Value, precision: 3);
    }

    /// <summary>Every query of the directory's tables fails from now on, as with a store that is gone.</summary>
    private void BreakTheStore()
    {
        _store.Database.Execute("ALTER TABLE aliases RENAME TO aliases_gone; ALTER TABLE mailboxes RENAME TO mailboxes_gone; ALTER TABLE domains RENAME TO domains_gone;");
    }

    private static Func<long> CountReloads(string result)
    {
        long count = 0;
        var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == SecureMxMetrics.MeterName && i.Name == "securemx.store.directory_reloads") l.EnableMeasurementEvents(i);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var t in tags)
                if (t.Key == "result" && (string?)t.Value == result) Interlocked.Add(ref count, value);
        });
        listener.Start();
        return () => Interlocked.Read(ref count);
    }
}
