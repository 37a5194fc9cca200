using System.Net;

namespace SecureMx.Mail;

/// <summary>
/// What the last delivery attempt did for one recipient, as structure: the queue stores it in
/// columns, the runner decides expiry and retries from it, DSNs take their Status field from it
/// (RFC 3464 §2.3.4), the dashboard and the CLI show it. Nothing recognises a cause by reading
/// <see cref="Text"/>.
/// </summary>
/// <param name="State">The recipient's state after the attempt.</param>
/// <param name="Reason">The class of cause.</param>
/// <param name="Status">The enhanced status code (RFC 3463): the server's, or ours when we decided.</param>
/// <param name="Text">The human text the queue list, DSN explanations and logs show, e.g. "4.4.3 SERVFAIL for remote.test".</param>
/// <param name="ReplyCode">The SMTP reply code: the server's, or ours for the delivery log (451, 554 …); null when none applies.</param>
/// <param name="RequiredTls">For <see cref="OutcomeReason.TlsRequirement"/> (and its expiry): the requirement no server met.</param>
/// <param name="Host">The MX host that gave the outcome, or that failed the TLS requirement; null for DNS and connection failures (every host was tried) and for local delivery.</param>
/// <param name="Address">The address of <see cref="Host"/> that was tried, when one was.</param>
public sealed record DeliveryOutcome(
    RecipientState State,
    OutcomeReason Reason,
    EnhancedStatus Status,
    string Text,
    int? ReplyCode = null,
    RequiredTls? RequiredTls = null,
    string? Host = null,
    IPAddress? Address = null)
{
    /// <summary>Deferred only because no server met the TLS requirement: such a wait ends at queue.tlsExpireAfter.</summary>
    public bool IsTlsWait => State == RecipientState.Deferred && Reason == OutcomeReason.TlsRequirement;

    /// <summary>"mx.example.net[192.0.2.1]", "mx.example.net", or null.</summary>
    public string? HostTried => Host is null ? null : Address is null ? Host : $"{Host}[{Address}]";
}
