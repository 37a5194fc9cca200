namespace SecureMx.Mail;

/// <summary>Everything the queue knows about a message except its bytes (those live in the spool).</summary>
public sealed record Envelope(
    string Id,
    DateTimeOffset ReceivedAt,
    string Sender,
    long Size,
    MailParameters Parameters,
    ClientTrace Client,
    IReadOnlyList<EnvelopeRecipient> Recipients)
{
    /// <summary>
    /// The Authentication-Results field (RFC 8601) of a message received on the MX, complete with its
    /// CRLF, prepended at final delivery after Received; null for mail that was not authenticated
    /// (submission, generated mail, messages queued before authentication existed).
    /// </summary>
    public string? AuthenticationResults { get; init; }
}
