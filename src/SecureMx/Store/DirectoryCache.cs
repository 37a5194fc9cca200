using Microsoft.Extensions.Logging;
using SecureMx.Telemetry;

namespace SecureMx.Store;

/// <summary>What the cache says now: the snapshot, and whether its "no such …" answers may be trusted.</summary>
/// <param name="Authoritative">
/// True while the change feed is connected and the snapshot was loaded after it connected: every
/// change since is either in it or on its way as a notification, so a miss is a real miss. False
/// while the feed is gone (the store is unreachable, or was): a hit is served (the last good state),
/// a miss must be asked of the store, and an unreachable store answers "try again later".
/// </param>
public readonly record struct DirectoryReading(DirectorySnapshot Snapshot, bool Authoritative);

/// <summary>
/// The hot path's copy of the directory when several nodes share one store (PostgreSQL): the
/// current <see cref="DirectorySnapshot"/>, replaced as a whole by each reload. Reloads coalesce —
/// at most one runs, at most one more waits, and every request made meanwhile is answered by that
/// one — so a burst of changes costs two loads, not one per change. A change made through this
/// node's repositories (<see cref="Invalidate"/>) sets the snapshot aside until a load that began
/// after it has finished: the dashboard reads what it has just written. The change feed
/// (Hosting/DirectoryCacheService) says when it is connected (<see cref="FeedConnected"/>) and
/// when it is lost (<see cref="FeedLost"/>): see <see cref="DirectoryReading.Authoritative"/>.
/// With SQLite there is no cache; every read is a query, as on a single box it always was.
/// </summary>
public sealed class DirectoryCache
{
    private sealed record Published(DirectorySnapshot Snapshot, long Generation, long FeedEpoch, bool WhileFeedConnected);

    private readonly Func<DateTimeOffset, DirectorySnapshot> _load;
    private readonly Action? _feedLost;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly object _gate = new();

    private Published? _published;
    private long _generation;     // + 1 at every local change: a snapshot loaded before it is set aside
    private long _feedEpoch;      // + 1 at every (re)connection of the change feed
    private bool _feedConnected;
    private bool _lastLoadFailed;
    private int _failuresInARow;

    private bool _running;
    private TaskCompletionSource<bool>? _waiting; // the one load queued behind the running one

    /// <param name="load">Reads a complete snapshot (throws when the store cannot be read); its argument is when the load began.</param>
    /// <param name="feedLost">Runs when the change feed is lost (the store's idle pooled connections are dropped: likely dead as well).</param>
    public DirectoryCache(Func<DateTimeOffset, DirectorySnapshot> load, TimeProvider time, ILogger log, Action? feedLost = null)
    {
        _load = load;
        _feedLost = feedLost;
        _time = time;
        _log = log;
    }

    /// <summary>The cache of <paramref name="db"/>'s directory.</summary>
    public static DirectoryCache For(StoreDatabase db, TimeProvider time, ILogger log) =>
        new(at => DirectorySnapshot.Load(db, at), time, log, db.ReleasePooledConnections);

    /// <summary>The current snapshot, or null before the first load and while a local change is not yet in one.</summary>
    public DirectoryReading? Current
    {
        get
        {
            var p = Volatile.Read(ref _published);
            if (p is null || p.Generation != Interlocked.Read(ref _generation)) return null;
            bool authoritative;
            lock (_gate) authoritative = p.WhileFeedConnected && _feedConnected && p.FeedEpoch == _feedEpoch && !_lastLoadFailed;
            return new DirectoryReading(p.Snapshot, authoritative);
        }
    }

    /// <summary>When the snapshot in use was loaded, or null before the first load.</summary>
    public DateTimeOffset? LoadedAt => Volatile.Read(ref _published)?.Snapshot.LoadedAt;

    /// <summary>Seconds since the snapshot in use was loaded (the metric <see cref="SecureMxMetrics.DirectoryAge"/>).</summary>
    public double? AgeSeconds => LoadedAt is { } at ? Math.Max(0, (_time.GetUtcNow() - at).TotalSeconds) : null;

    /// <summary>
    /// Asks for a new snapshot. The task ends when a load that began after this call has ended: true
    /// when it succeeded. Never throws: a failed load keeps the last good snapshot and is logged.
    /// </summary>
    public Task<bool> ReloadAsync()
    {
        lock (_gate)
        {
            if (_waiting is not null) return _waiting.Task; // the queued load has not begun: it covers this request
            var next = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_running)
            {
                _waiting = next;
                return next.Task;
            }
            _running = true;
            _ = Task.Run(() => RunLoads(next));
            return next.Task;
        }
    }

    /// <summary>A change made on this node: reads go to the store until a snapshot that has it is loaded.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _ = ReloadAsync();
    }

    /// <summary>The change feed is listening (again): what changed while it was not is read by the reload this starts.</summary>
    public Task<bool> FeedConnected()
    {
        lock (_gate)
        {
            _feedConnected = true;
            _feedEpoch++;
        }
        return ReloadAsync();
    }

    /// <summary>
    /// The change feed is gone: the snapshot's misses are no longer trusted, and the store's idle
    /// pooled connections, which went with it, are dropped (the next query opens a fresh one instead
    /// of failing on a dead one after the store is back).
    /// </summary>
    public void FeedLost()
    {
        lock (_gate) _feedConnected = false;
        _feedLost?.Invoke();
    }

    private void RunLoads(TaskCompletionSource<bool> first)
    {
        var current = first;
        while (true)
        {
            current.TrySetResult(LoadOnce());
            lock (_gate)
            {
                if (_waiting is null)
                {
                    _running = false;
                    return;
                }
                current = _waiting;
                _waiting = null;
            }
        }
    }

    private bool LoadOnce()
    {
        long generation = Interlocked.Read(ref _generation);
        long epoch;
        bool connected;
        lock (_gate)
        {
            epoch = _feedEpoch;
            connected = _feedConnected;
        }
        var started = _time.GetUtcNow();
        DirectorySnapshot snapshot;
        try
        {
            snapshot = _load(started);
        }
        catch (Exception ex)
        {
            // Whatever failed (an unreachable store, or a surprise), the loop must go on and the last good snapshot stay.
            int failures;
            lock (_gate)
            {
                _lastLoadFailed = true;
                failures = ++_failuresInARow;
            }
            SecureMxMetrics.DirectoryReloads.Add(1, new KeyValuePair<string, object?>("result", "failed"));
            // Once per outage, not once per attempt: the metric counts the rest.
            if (failures == 1)
                _log.LogWarning("could not load the directory from the store ({Error}); serving the snapshot of {LoadedAt:O}", ex.Message, LoadedAt);
            return false;
        }
        Volatile.Write(ref _published, new Published(snapshot, generation, epoch, connected));
        int failedBefore;
        lock (_gate)
        {
            _lastLoadFailed = false;
            failedBefore = _failuresInARow;
            _failuresInARow = 0;
        }
        SecureMxMetrics.DirectoryReloads.Add(1, new KeyValuePair<string, object?>("result", "ok"));
        if (failedBefore > 0)
            _log.LogInformation("directory loaded again after {Failures} failed load(s): {Domains} domain(s), {Mailboxes} mailbox(es), {Aliases} alias(es)",
                failedBefore, snapshot.DomainCount, snapshot.MailboxCount, snapshot.AliasCount);
        return true;
    }
}
