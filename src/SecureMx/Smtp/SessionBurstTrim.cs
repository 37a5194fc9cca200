using System.Runtime;

namespace SecureMx.Smtp;

/// <summary>
/// Gives the memory of a burst of sessions back to the system once the burst is over. A compacting full collection
/// with decommit runs when the open sessions fall to an eighth of a peak of at least <see cref="MinimumPeak"/> sessions:
/// once per burst, tens of milliseconds on the thread pool, never per session. Without it the garbage of 10 000 ended
/// sessions stayed committed (the process grew from 247 MB with them open to 268 MB after they closed).
/// The same trim runs when the last open session ends after at least <see cref="IdleAfterSessions"/> sessions since
/// the last trim: a server that has just taken a load of mail keeps what the load grew (buffers, the heap's budget)
/// resident otherwise — 76 MB at start, 105–117 MB idle after 11 000 messages.
/// </summary>
public sealed class SessionBurstTrim(Action? trim = null)
{
    /// <summary>Below this many sessions at once, what a burst leaves behind is not worth a full collection.</summary>
    public const int MinimumPeak = 1000;

    /// <summary>Sessions since the last trim after which an idle moment (no session open) trims.</summary>
    public const int IdleAfterSessions = 10_000;

    private readonly Action _trim = trim ?? CompactAndDecommit;
    private int _peak;
    private int _sinceTrim;

    /// <summary>Counts a new session; <paramref name="open"/> is the number open with it. Called under the limiter's lock.</summary>
    public void Opened(int open)
    {
        if (open > _peak) _peak = open;
        if (_sinceTrim < int.MaxValue) _sinceTrim++;
    }

    /// <summary>Counts an ended session; true when the burst is over and the trim is due. Called under the limiter's lock.</summary>
    public bool Closed(int open)
    {
        bool burstOver = _peak >= MinimumPeak && open <= _peak / 8;
        bool idleAfterMany = open == 0 && _sinceTrim >= IdleAfterSessions;
        if (!burstOver && !idleAfterMany) return false;
        _peak = open;
        _sinceTrim = 0;
        return true;
    }

    /// <summary>Runs the trim off the caller's thread (outside the limiter's lock).</summary>
    public void Run() => ThreadPool.UnsafeQueueUserWorkItem(static t => t(), _trim, preferLocal: false);

    /// <summary>A blocking, compacting full collection that gives the freed memory back to the system (also <see cref="Hosting.StartupTrim"/>).</summary>
    public static void CompactAndDecommit()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        // Aggressive: compacts and decommits what is free, instead of keeping it for the next allocations.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
