using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>A queued or deferred recipient with its message's envelope facts: one row of a node's published queue summary.</summary>
public sealed record PendingRecipient(
    string MessageId, int Index, string Recipient, string Sender, DateTimeOffset ReceivedAt, long Size,
    RecipientState State, int Attempts, DateTimeOffset NextAttemptAt, string? LastError);
