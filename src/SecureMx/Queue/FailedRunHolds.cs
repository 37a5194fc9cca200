using System.Collections.Concurrent;

namespace SecureMx.Queue;

/// <summary>
/// Messages whose last delivery run ended with an unexpected error — a row this version cannot read
/// (written by a newer one, or damaged), a queue database that failed the read, a bug. The database
/// still says "due now", so without a hold the scheduler would start the same failing run at every
/// look (each 200 ms), each with a stack trace in the log; with one the message waits until
/// <c>delivery.localRetrySeconds</c> have passed. In memory only: a restart tries every message at once.
/// </summary>
internal sealed class FailedRunHolds
{
    private readonly record struct Hold(DateTimeOffset Until, int FailedRuns);

    private readonly ConcurrentDictionary<string, Hold> _holds = new();

    /// <summary>Messages held (or whose hold has ended and that were not tried again yet).</summary>
    public int Count => _holds.Count;

    /// <summary>Holds the message until <paramref name="until"/>; returns its failed runs in a row, this one included.</summary>
    public int HoldAfterFailure(string messageId, DateTimeOffset until) =>
        _holds.AddOrUpdate(messageId, static (_, until) => new Hold(until, 1), static (_, held, until) => new Hold(until, held.FailedRuns + 1), until).FailedRuns;

    /// <summary>A run of the message ended without an unexpected error, or the message has left the queue; returns the failed runs before it (0: none).</summary>
    /// <remarks>Called after every run: TryRemove takes no lock when the key's stripe is empty (IsEmpty and Count would take them all).</remarks>
    public int Forget(string messageId) => _holds.TryRemove(messageId, out var held) ? held.FailedRuns : 0;

    /// <summary>Whether the scheduler must leave the message alone at <paramref name="now"/>.</summary>
    public bool IsHeld(string messageId, DateTimeOffset now) => _holds.TryGetValue(messageId, out var held) && held.Until > now;

    /// <summary>The earliest time a message held at <paramref name="now"/> is due again; null when none is held.</summary>
    public DateTimeOffset? EarliestRelease(DateTimeOffset now) =>
        _holds.Values.Where(h => h.Until > now).Select(h => (DateTimeOffset?)h.Until).Min();

    /// <summary>Messages whose hold has ended at <paramref name="now"/> (due again, or gone from the queue meanwhile).</summary>
    public List<string> Released(DateTimeOffset now) => _holds.Where(e => e.Value.Until <= now).Select(e => e.Key).ToList();
}
