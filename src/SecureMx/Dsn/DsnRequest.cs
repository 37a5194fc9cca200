using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// Everything <see cref="DeliveryStatusNotification.Build"/> needs to report on one message. A pure value:
/// the only I/O is <see cref="OpenOriginal"/>, called once, and the time comes from the caller (TimeProvider).
/// </summary>
/// <param name="Hostname">Our host name: Reporting-MTA (RFC 3464 §2.2.2), MAILER-DAEMON@ and the Message-ID's domain.</param>
/// <param name="QueueId">The original <see cref="Envelope.Id"/>, quoted in the report so an administrator can find it.</param>
/// <param name="Sender">The original envelope sender: the DSN's recipient and To. Never the null path.</param>
/// <param name="ArrivalDate">When we accepted the original message (Arrival-Date, RFC 3464 §2.2.5).</param>
/// <param name="Recipients">One report per recipient; at least one.</param>
/// <param name="GeneratedAt">Now, from the caller's TimeProvider: the DSN's Date.</param>
public sealed record DsnRequest(
    string Hostname,
    string QueueId,
    string Sender,
    DateTimeOffset ArrivalDate,
    IReadOnlyList<DsnRecipientReport> Recipients,
    DateTimeOffset GeneratedAt)
{
    /// <summary>The ENVID parameter (RFC 3461 §4.4), echoed as Original-Envelope-Id (RFC 3464 §2.2.1).</summary>
    public string? EnvelopeId { get; init; }

    /// <summary>
    /// The RET parameter (RFC 3461 §4.3). <see cref="DsnReturn.Full"/> returns the whole message in a DSN
    /// that reports at least one failure; anything else, and every DSN without a failure, returns the headers only.
    /// </summary>
    public DsnReturn Return { get; init; }

    /// <summary>Opens the original message bytes (as spooled: CRLF line endings); null to return nothing.</summary>
    public Func<Stream>? OpenOriginal { get; init; }

    /// <summary>
    /// Largest original returned whole under RET=FULL; a larger one is returned as headers only (like
    /// Postfix's bounce_size_limit, without truncating). Null: no limit.
    /// </summary>
    public long? ReturnSizeLimit { get; init; }

    /// <summary>
    /// The language of the human-readable part, the subject and the From name: the hosted sender's
    /// (the caller looks it up), else English. The machine-readable part does not depend on it.
    /// </summary>
    public MailLanguage Language { get; init; }

    /// <summary>
    /// A request for a spooled message: sender, ENVID, RET and arrival date come from its envelope. A
    /// REQUIRETLS message is reported as if RET=HDRS (RFC 8689 §5: RET=FULL is disregarded): its body
    /// never travels in a report.
    /// </summary>
    public static DsnRequest FromEnvelope(
        Envelope envelope,
        string hostname,
        IReadOnlyList<DsnRecipientReport> recipients,
        DateTimeOffset generatedAt,
        Func<Stream>? openOriginal) =>
        new(hostname, envelope.Id, envelope.Sender, envelope.ReceivedAt, recipients, generatedAt)
        {
            EnvelopeId = envelope.Parameters.EnvId,
            Return = envelope.Parameters.RequireTls ? DsnReturn.Headers : envelope.Parameters.Ret,
            OpenOriginal = openOriginal,
        };
}
