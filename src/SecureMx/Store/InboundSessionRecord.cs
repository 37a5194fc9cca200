namespace SecureMx.Store;

/// <summary>One RCPT decision in an inbound session.</summary>
public sealed record InboundRecipientEvent(DateTimeOffset At, string? MailFromDomain, string RecipientDomain, bool Accepted, string Reply);

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
    public string? TlsProtocol { get; set; }
    public string? TlsCipher { get; set; }
    public int Messages { get; set; }
    public string? EndReason { get; set; }
    /// <summary>The mailbox a submission client logged in as.</summary>
    public string? Account { get; set; }
    public int AuthFailures { get; set; }
    public List<InboundRecipientEvent> Recipients { get; } = new();
}
