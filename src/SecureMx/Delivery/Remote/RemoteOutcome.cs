using System.Net;
using SecureMx.Mail;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// What one delivery attempt did for one recipient: the new state, the status and text for the
/// queue and DSNs, the class of cause (<see cref="Reason"/>), and which server said it over what
/// TLS (for the delivery log). <see cref="OutcomeReason.TlsRequirement"/>: deferred because no host
/// met the TLS requirement (such recipients expire after queue.tlsExpireAfter, and their DSNs
/// explain the requirement).
/// </summary>
/// <param name="Text">The server's reply lines for <see cref="OutcomeReason.RemoteReply"/>; else our own words.</param>
/// <param name="TlsFailure">Why the server's STARTTLS gave no TLS when the mail then went in plaintext (opportunistic levels); else null.</param>
/// <param name="MtaStsFailure">
/// What the recipient domain's MTA-STS policy said of the attempt (<see cref="Remote.MtaStsDeliveryFailure"/>, "RESULT-TYPE: DETAIL"):
/// the host failed it (enforce, a deferral), would have failed it (testing, delivered anyway), or the policy
/// could not be fetched (RFC 8461 §5); null when the policy was met or there was none.
/// </param>
/// <param name="RequiredByMtaSts">A TLS deferral because the recipient domain's MTA-STS policy (enforce) turned the hosts away.</param>
public sealed record RemoteOutcome(
    int Index,
    string Recipient,
    RecipientState State,
    int Code,
    EnhancedStatus Enhanced,
    string Text,
    string? MxHost,
    IPAddress? Address,
    NegotiatedTls? Tls,
    OutcomeReason Reason,
    bool PeerSupportsDsn = false,
    string? TlsFailure = null,
    string? MtaStsFailure = null,
    bool RequiredByMtaSts = false)
{
    /// <summary>The server's reply, "550 5.1.1 …", when a server said it (the DSN's Diagnostic-Code, RFC 3464 §2.3.6); else null.</summary>
    public string? ServerReply => Reason == OutcomeReason.RemoteReply ? $"{Code} {Text}" : null;

    public string Summary => MxHost is null || Reason != OutcomeReason.RemoteReply ? $"{Enhanced} {Text}" : $"{Enhanced} {MxHost}[{Address}] said: {Code} {Text}";

    /// <summary>
    /// The outcome as the queue keeps it; <paramref name="requiredTls"/> is the requirement a TLS wait
    /// waits on, and <paramref name="text"/> the human text when it says more than <see cref="Summary"/>.
    /// </summary>
    public DeliveryOutcome ToOutcome(RequiredTls? requiredTls = null, string? text = null) =>
        new(State, Reason, Enhanced, text ?? Summary, Code, Reason == OutcomeReason.TlsRequirement ? requiredTls : null, MxHost, Address);
}
