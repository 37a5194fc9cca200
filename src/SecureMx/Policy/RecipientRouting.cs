using SecureMx.Store;

namespace SecureMx.Policy;

/// <summary>What an address names on this server.</summary>
public enum RecipientKind
{
    /// <summary>A hosted mailbox, or a subaddress of one (alice+news@ → alice@).</summary>
    Mailbox,
    /// <summary>An alias, or a subaddress of one: its target mailboxes.</summary>
    Alias,
    /// <summary>postmaster@ a hosted domain without such a mailbox or alias, or the bare RCPT TO:&lt;postmaster&gt; (RFC 5321 §4.5.1).</summary>
    Postmaster,
    /// <summary>A domain this server does not host (and every address literal): delivered remotely, if at all.</summary>
    NotHosted,
    /// <summary>A hosted domain, but no mailbox, alias or postmaster by that name.</summary>
    UnknownUser,
    /// <summary>
    /// The TLS report address of a hosted domain (<see cref="TlsReportAddress"/>): delivered to the TLS report reader, never to a
    /// mailbox; exempt from mandatory inbound TLS (RFC 8460 §5.3: reports are delivered despite TLS failures).
    /// </summary>
    TlsReport,
}

/// <summary>
/// Where mail for one address goes: the mailboxes it is delivered to (none for <see cref="RecipientKind.NotHosted"/>
/// and <see cref="RecipientKind.UnknownUser"/>), and whether the hosted domain takes mail only over secure TLS.
/// </summary>
public sealed record RecipientRouting(RecipientKind Kind, IReadOnlyList<LocalTarget> Targets, bool InboundTlsMandatory)
{
    public bool IsLocal => Kind is RecipientKind.Mailbox or RecipientKind.Alias or RecipientKind.Postmaster or RecipientKind.TlsReport;
}
