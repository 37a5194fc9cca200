using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Queue;

/// <summary>
/// Delivers some recipients of one message, each once, and says what happened to each. The queue
/// runner has one for local recipients (<see cref="MaildirDeliverer"/>, or <see cref="LmtpDeliverer"/>
/// with delivery.lmtp) and one for everyone else (<see cref="SmtpDeliverer"/>); it applies the time
/// rules to what they return and writes it back.
/// </summary>
public interface IDeliverer
{
    /// <summary>
    /// One attempt per recipient that was tried. A recipient a shutdown interrupted has none: that is
    /// not an attempt, and it is due again at the next start.
    /// </summary>
    Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct);

    /// <summary>The operator asked for every queued message to be tried now (`securemx queue retry`): forget what holds attempts back.</summary>
    void RetryRequested()
    {
    }
}
