using SecureMx.Smtp;
using SecureMx.Tls;

namespace SecureMx.Spool;

/// <summary>Where one accepted recipient goes.</summary>
public enum RecipientRoute { Local, Remote }

/// <summary>Per-recipient delivery state (DESIGN.md §4: one message, many outcomes).</summary>
public enum RecipientState { Queued, Deferred, Delivered, Failed }

/// <summary>
/// One recipient of a spooled message. <see cref="Address"/> is the final destination after alias
/// expansion; <see cref="OriginalAddress"/> is what the client gave in RCPT TO (kept for DSNs).
/// </summary>
public sealed record EnvelopeRecipient(
    string Address,
    string OriginalAddress,
    RecipientRoute Route,
    string? Maildir,
    DsnNotify Notify,
    string? OrcptType,
    string? Orcpt);

/// <summary>Who handed the message to us, and how (for the Received header, RFC 5321 §4.4).</summary>
public sealed record ClientTrace(
    string Listener,
    string ClientIp,
    string Helo,
    string Protocol,
    NegotiatedTls? Tls,
    string? Account);

/// <summary>Everything the queue knows about a message except its bytes (those live in the data file).</summary>
public sealed record Envelope(
    string Id,
    DateTimeOffset ReceivedAt,
    string Sender,
    long Size,
    MailParameters Parameters,
    ClientTrace Client,
    IReadOnlyList<EnvelopeRecipient> Recipients);
