namespace SecureMx.Store;

/// <summary>One RCPT decision in an inbound session.</summary>
/// <param name="MailFrom">The envelope sender in full ("" for the null sender, null before MAIL).</param>
/// <param name="Recipient">The recipient address as given in RCPT (null for a syntax error).</param>
/// <param name="Refusal">Why it was refused (RcptDecision.Refusal: mandatory_tls, relay, unknown_recipient, …); null when accepted.</param>
public sealed record InboundRecipientEvent(DateTimeOffset At, string? MailFromDomain, string RecipientDomain, bool Accepted, string Reply,
    string? MailFrom = null, string? Recipient = null, string? Refusal = null);

/// <summary>
/// One inbound SMTP session as the session log keeps it: who connected, what TLS it had, and which
/// recipient domains were accepted or refused with which reply. The readiness preview ("who would be
/// refused under mandatory TLS?") is built on these rows.
/// </summary>
public sealed class InboundSessionRecord(string id, DateTimeOffset startedAt, string listener, string clientIp)
{
    public string Id { get; } = id;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public string Listener { get; } = listener;
    public string ClientIp { get; } = clientIp;
    public DateTimeOffset? EndedAt { get; set; }
    public string? Helo { get; set; }
    /// <summary>The client's reverse name (PTR), when it was looked up and found.</summary>
    public string? ReverseName { get; set; }
    public string? TlsProtocol { get; set; }
    public string? TlsCipher { get; set; }
    public int Messages { get; set; }
    public string? EndReason { get; set; }
    /// <summary>The mailbox a submission client logged in as.</summary>
    public string? Account { get; set; }
    public int AuthFailures { get; set; }
    public List<InboundRecipientEvent> Recipients { get; } = new();
}
