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
/// Either way the trim waits until the process is quiet (<see cref="QuietAllocation"/> in a second): the last session
/// ends before the queue has delivered what the sessions brought, and a trim before those deliveries were over was
/// undone by them (the heap's committed memory back at 24 MB from 3 MB, 114 MB resident against 78 at start, after
/// 20 000 messages). A server that stays busy is not trimmed: what it holds is in use.
/// </summary>
/// <param name="trim">The collection (tests count calls instead).</param>
/// <param name="time">Paces the quiet checks.</param>
/// <param name="allocatedBytes">Bytes allocated by the process so far (<see cref="GC.GetTotalAllocatedBytes"/>).</param>
public sealed class SessionBurstTrim(Action? trim = null, TimeProvider? time = null, Func<long>? allocatedBytes = null)
{
    /// <summary>Below this many sessions at once, what a burst leaves behind is not worth a full collection.</summary>
    public const int MinimumPeak = 1000;

    /// <summary>Sessions since the last trim after which an idle moment (no session open) trims.</summary>
    public const int IdleAfterSessions = 10_000;

    /// <summary>How often the process is looked at while the trim waits for quiet.</summary>
    public static readonly TimeSpan QuietCheck = TimeSpan.FromSeconds(1);

    /// <summary>Less than this allocated in a <see cref="QuietCheck"/> is quiet: an idle server's timers, a message now and then.</summary>
    public const long QuietAllocation = 1 << 20;

    /// <summary>Checks after which a trim still waiting gives up: the load went on, and its memory is in use.</summary>
    public const int QuietChecks = 60;

    private readonly Action _trim = trim ?? CompactAndDecommit;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Func<long> _allocated = allocatedBytes ?? (static () => GC.GetTotalAllocatedBytes(precise: false));
    private int _peak;
    private int _sinceTrim;
    private int _waiting;

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

    /// <summary>
    /// Runs the trim off the caller's thread (outside the limiter's lock) once the process is quiet; one wait at a
    /// time (a trim due while one waits is the same trim). The task ends when the trim has run or the wait gave up.
    /// </summary>
    public Task Run() => Interlocked.Exchange(ref _waiting, 1) == 1 ? Task.CompletedTask : WhenQuietAsync();

    private async Task WhenQuietAsync()
    {
        try
        {
            long before = _allocated();
            for (int i = 0; i < QuietChecks; i++)
            {
                await Task.Delay(QuietCheck, _time).ConfigureAwait(false);
                long now = _allocated();
                if (now - before < QuietAllocation)
                {
                    _trim();
                    return;
                }
                before = now;
            }
        }
        finally
        {
            Volatile.Write(ref _waiting, 0);
        }
    }

    /// <summary>A blocking, compacting full collection that gives the freed memory back to the system (also <see cref="Hosting.StartupTrim"/>).</summary>
    public static void CompactAndDecommit()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        // Aggressive: compacts and decommits what is free, instead of keeping it for the next allocations.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _ = NativeHeap.Trim();
    }
}
