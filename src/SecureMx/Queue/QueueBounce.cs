using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Queue;

/// <summary>What <see cref="QueueBounce.BounceAsync"/> did.</summary>
/// <param name="Envelope">The message's envelope; null when it was not in the queue.</param>
/// <param name="Failed">Pending recipients that failed (0: the message had none and was left alone).</param>
public sealed record BounceResult(Envelope? Envelope, int Failed);

/// <summary>
/// The operator gives up on a message (`securemx queue bounce`): its pending recipients fail with
/// 5.0.0 "returned to the sender by the mail administrator" and the sender gets one failure DSN
/// (as its NOTIFY asks). The DSN is spooled first, then the message is removed: a crash in between
/// may duplicate the report, never lose it. A DSN that cannot be written (full disk, database error)
/// is logged by the emitter and the message is removed anyway, as the operator asked.
/// </summary>
public sealed class QueueBounce(MessageSpool spool, DsnEmitter dsn)
{
    private static readonly EnhancedStatus Status = EnhancedStatus.PermanentFailure;

    public async Task<BounceResult> BounceAsync(string id)
    {
        if (spool.Queue.Load(id) is not { } loaded) return new BounceResult(null, 0);
        var (envelope, recipients) = loaded;
        var pending = recipients.Where(r => r.State is RecipientState.Queued or RecipientState.Deferred).ToList();
        if (pending.Count == 0) return new BounceResult(envelope, 0);
        var items = pending.Select(r => new DsnEmitter.Item(r, Outcome(r))).ToList();
        await dsn.EmitAsync(envelope, items, DsnAction.Failed, null);
        await spool.RemoveAsync(id);
        return new BounceResult(envelope, pending.Count);
    }

    /// <summary>The failure that replaces a pending recipient's wait; its last error says what it was waiting for.</summary>
    private static DeliveryOutcome Outcome(QueuedRecipient r) => new(
        RecipientState.Failed, OutcomeReason.Administrator, Status,
        $"{Status} returned to the sender by the mail administrator{(r.LastError is null ? "" : "; last error: " + r.LastError)}",
        RequiredTls: r.LastOutcome?.RequiredTls);
}
