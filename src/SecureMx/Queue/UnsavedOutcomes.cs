using System.Collections.Concurrent;
using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Queue;

/// <summary>
/// Outcomes of delivery runs that the queue database did not take (a full disk, an I/O error): kept
/// in memory, laid over what the database says when the message is loaded again, and written with
/// the next commit for the message that succeeds. Without them the database would still say "due
/// now" and the scheduler would deliver the message again at once, and again — a hot loop on a full
/// disk; with them the message waits as its outcomes say (delivery.localRetrySeconds, the retry
/// schedule), a delivered or failed recipient is not tried again, and a delay DSN is not sent twice.
/// A DSN the spool could not take waits here too, and nothing of its run is written before it is
/// spooled: the database never says "failed" or "warned" about a recipient whose report is missing.
/// What is here is lost when the process ends: the database's older state then stands, and a
/// recipient may be delivered twice (docs/ARCHITECTURE.md, "Durability": a duplicate, never a loss).
/// </summary>
internal sealed class UnsavedOutcomes
{
    /// <param name="Updates">The latest unwritten update per recipient index, with every attempt it stands for.</param>
    /// <param name="HeldUntil">The scheduler leaves the message alone until then.</param>
    /// <param name="Dsns">DSNs about these outcomes that the spool did not take: sent before the outcomes are written.</param>
    private sealed record Entry(IReadOnlyDictionary<int, RecipientUpdate> Updates, DateTimeOffset HeldUntil, IReadOnlyList<DsnEmitter.Batch> Dsns);

    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    /// <summary>Messages with outcomes not written yet.</summary>
    public int Count => _entries.Count;

    public bool Contains(string messageId) => _entries.ContainsKey(messageId);

    /// <summary>Whether the scheduler must leave the message alone at <paramref name="now"/> (the database's due time is stale).</summary>
    public bool IsHeld(string messageId, DateTimeOffset now) => _entries.TryGetValue(messageId, out var e) && e.HeldUntil > now;

    /// <summary>The earliest time a message held at <paramref name="now"/> is due again; null when none is held.</summary>
    public DateTimeOffset? EarliestRelease(DateTimeOffset now) =>
        _entries.Values.Where(e => e.HeldUntil > now).Select(e => (DateTimeOffset?)e.HeldUntil).Min();

    /// <summary>Messages whose hold has ended at <paramref name="now"/> (due again, or gone from the queue meanwhile).</summary>
    public List<string> Released(DateTimeOffset now) => _entries.Where(e => e.Value.HeldUntil <= now).Select(e => e.Key).ToList();

    /// <summary>The recipients as the database has them, with the unwritten outcomes laid over them.</summary>
    public List<QueuedRecipient> Overlay(string messageId, List<QueuedRecipient> stored)
    {
        if (!_entries.TryGetValue(messageId, out var entry)) return stored;
        return stored.Select(r => entry.Updates.TryGetValue(r.Index, out var u)
            ? r with
            {
                State = u.Outcome.State,
                Attempts = r.Attempts + u.Attempts,
                NextAttemptAt = u.NextAttemptAt,
                LastOutcome = u.Outcome,
                DelayWarned = r.DelayWarned || u.DelayWarned,
            }
            : r).ToList();
    }

    /// <summary>
    /// The updates to write for the message: this run's, each counting the unwritten attempts before it,
    /// and the unwritten ones of recipients this run did not try.
    /// </summary>
    public List<RecipientUpdate> Merge(string messageId, IReadOnlyList<RecipientUpdate> current)
    {
        if (!_entries.TryGetValue(messageId, out var entry)) return current.ToList();
        var merged = current.Select(c => entry.Updates.TryGetValue(c.Index, out var u)
            ? c with { Attempts = u.Attempts + c.Attempts, DelayWarned = u.DelayWarned || c.DelayWarned }
            : c).ToList();
        merged.AddRange(entry.Updates.Values.Where(u => current.All(c => c.Index != u.Index)));
        return merged.OrderBy(u => u.Index).ToList();
    }

    /// <summary>The DSNs of earlier runs that the spool did not take.</summary>
    public IReadOnlyList<DsnEmitter.Batch> UnsentDsns(string messageId) => _entries.TryGetValue(messageId, out var e) ? e.Dsns : [];

    /// <summary>
    /// Keeps <paramref name="merged"/> (from <see cref="Merge"/>) unwritten, the message held until
    /// <paramref name="heldUntil"/>, with the DSNs about them still to be spooled (<paramref name="unsentDsns"/>).
    /// </summary>
    public void Keep(string messageId, IReadOnlyList<RecipientUpdate> merged, DateTimeOffset heldUntil, IReadOnlyList<DsnEmitter.Batch> unsentDsns) =>
        _entries[messageId] = new Entry(merged.ToDictionary(u => u.Index), heldUntil, unsentDsns);

    /// <summary>The message's outcomes are written (or it left the queue).</summary>
    public void Forget(string messageId) => _entries.TryRemove(messageId, out _);
}
