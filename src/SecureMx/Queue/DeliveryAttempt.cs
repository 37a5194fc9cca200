using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>What one delivery attempt did for one recipient, before the queue runner applies the time rules and writes it back.</summary>
/// <param name="Log">The delivery log row of the attempt.</param>
/// <param name="RetryAfter">For a deferral: when to try again, when the deliverer has its own interval; null for the retry schedule.</param>
/// <param name="ServerReply">The server's reply ("550 5.1.1 …") when a server gave the outcome: the DSN's Diagnostic-Code.</param>
/// <param name="PeerSupportsDsn">Relayed to a server that offers DSN: it reports success itself (RFC 3461 §6.2.2), we do not.</param>
public sealed record DeliveryAttempt(
    QueuedRecipient Recipient,
    DeliveryOutcome Outcome,
    DeliveryLogEntry Log,
    TimeSpan? RetryAfter = null,
    string? ServerReply = null,
    bool PeerSupportsDsn = false);
