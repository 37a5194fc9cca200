using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// What happened to one recipient: one per-recipient group of the delivery report (RFC 3464 §2.3)
/// and one paragraph of the human-readable part.
/// </summary>
/// <param name="FinalRecipient">
/// The recipient address for the Final-Recipient field (RFC 3464 §2.3.2): the address as it was when
/// we accepted the message (the RCPT TO address). <see cref="FromEnvelope"/> uses
/// <see cref="EnvelopeRecipient.OriginalAddress"/>, so alias targets are not revealed to the sender.
/// </param>
/// <param name="Action">The Action field (RFC 3464 §2.3.3).</param>
/// <param name="Status">The enhanced status code for the Status field (RFC 3464 §2.3.4, RFC 3463), e.g. 5.1.1.</param>
public sealed record DsnRecipientReport(string FinalRecipient, DsnAction Action, EnhancedStatus Status)
{
    /// <summary>The address type of the ORCPT parameter (RFC 3461 §4.2), e.g. "rfc822"; null when no ORCPT was given.</summary>
    public string? OriginalRecipientType { get; init; }

    /// <summary>The xtext-decoded address of the ORCPT parameter; echoed as Original-Recipient (RFC 3464 §2.3.1).</summary>
    public string? OriginalRecipient { get; init; }

    /// <summary>Host name of the server that answered (Remote-MTA, RFC 3464 §2.3.5); null for local delivery.</summary>
    public string? RemoteMta { get; init; }

    /// <summary>
    /// The remote reply text, e.g. "550 5.1.1 user unknown" (Diagnostic-Code, RFC 3464 §2.3.6), without the
    /// diagnostic type. Lines of a multi-line reply may be separated by CRLF or LF; they are joined with spaces.
    /// </summary>
    public string? DiagnosticCode { get; init; }

    /// <summary>The diagnostic-type of <see cref="DiagnosticCode"/>: "smtp" for a remote SMTP reply.</summary>
    public string DiagnosticType { get; init; } = "smtp";

    /// <summary>When the last delivery attempt was made (Last-Attempt-Date, RFC 3464 §2.3.7).</summary>
    public DateTimeOffset? LastAttemptDate { get; init; }

    /// <summary>Until when delivery will be retried (Will-Retry-Until, RFC 3464 §2.3.9); written for <see cref="DsnAction.Delayed"/> only.</summary>
    public DateTimeOffset? WillRetryUntil { get; init; }

    /// <summary>
    /// One human sentence saying why, shown in the text part, e.g. "the receiving server offers no STARTTLS".
    /// When null a sentence is derived from <see cref="Status"/>.
    /// </summary>
    public string? Explanation { get; init; }

    /// <summary>
    /// The class of cause when SecureMx decided or knows it (e.g. <see cref="OutcomeReason.Administrator"/>):
    /// lets a translated text say what happened without reading <see cref="Explanation"/>, which is English.
    /// </summary>
    public OutcomeReason? Cause { get; init; }

    /// <summary>A report for one envelope recipient, with its ORCPT (RFC 3461 §4.2) copied from the envelope.</summary>
    public static DsnRecipientReport FromEnvelope(EnvelopeRecipient recipient, DsnAction action, EnhancedStatus status) =>
        new(recipient.OriginalAddress, action, status)
        {
            OriginalRecipientType = recipient.OrcptType,
            OriginalRecipient = recipient.Orcpt,
        };
}
