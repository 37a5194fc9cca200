namespace SecureMx.Mail;

/// <summary>Everything the queue knows about a message except its bytes (those live in the spool).</summary>
public sealed record Envelope(
    string Id,
    DateTimeOffset ReceivedAt,
    string Sender,
    long Size,
    MailParameters Parameters,
    ClientTrace Client,
    IReadOnlyList<EnvelopeRecipient> Recipients);
