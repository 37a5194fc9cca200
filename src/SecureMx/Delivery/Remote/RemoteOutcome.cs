using System.Net;
using SecureMx.Dns;
using SecureMx.Mail;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// What one delivery attempt did for one recipient: the new state, the status (enhanced code) and
/// text for the queue and DSNs, and which server said it over what TLS (for the delivery log).
/// <see cref="TlsRequirementUnmet"/>: deferred because no host met the TLS requirement (such
/// recipients expire after queue.tlsExpireAfter, and their DSNs explain the requirement).
/// </summary>
public sealed record RemoteOutcome(
    int Index,
    string Recipient,
    RecipientState State,
    int Code,
    string Enhanced,
    string Text,
    string? MxHost,
    IPAddress? Address,
    NegotiatedTls? Tls,
    bool RemoteReply,
    bool PeerSupportsDsn = false,
    bool TlsRequirementUnmet = false)
{
    /// <summary>"smtp; 550 5.1.1 …" when a server said it; else our own words (DSN Diagnostic-Code, RFC 3464 §2.3.6).</summary>
    public string? Diagnostic => RemoteReply ? $"smtp; {Code} {Text}" : null;

    public string Summary => MxHost is null || !RemoteReply ? $"{Enhanced} {Text}" : $"{Enhanced} {MxHost}[{Address}] said: {Code} {Text}";
}
