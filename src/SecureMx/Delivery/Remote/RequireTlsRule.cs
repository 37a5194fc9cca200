using SecureMx.Client;
using SecureMx.Dns;
using SecureMx.Mail;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// What a message sent with REQUIRETLS asks of the next hop (RFC 8689 §4.2.1), for one destination:
/// an MX host found by a DNSSEC-secure MX lookup (or whose name an MTA-STS policy validated), TLS whose
/// server certificate was authenticated (DANE, PKIX for the MX name, MTA-STS), and a server that
/// advertises REQUIRETLS. <see cref="RemoteDelivery"/> raises the TLS level with <see cref="Raise"/> (so an
/// opportunistic session, and with it a plaintext fallback, can never carry the message), asks
/// <see cref="Refusal"/> of every connected host before MAIL, and <see cref="Fails"/> when no host took it:
/// every host refused by this rule → the recipients fail with 5.7.30 (RFC 8689 §5) and a failure DSN;
/// a host that was down or a DNS lookup that failed → deferred as usual.
/// Null-sender messages (DSNs about a REQUIRETLS message) carry the flag but are not held to the whole rule
/// (RFC 8689 §4.2.1 applies to a non-empty return path): <see cref="RaiseForReport"/> still keeps them off
/// plaintext, since they carry the original's header (RFC 8689 §5), and they are sent with REQUIRETLS where
/// the next hop offers it.
/// </summary>
public sealed class RequireTlsRule
{
    private RequireTlsRule(bool mxSecure) => MxSecure = mxSecure;

    /// <summary>The MX lookup (for an implicit MX, the lookup that found none) was DNSSEC-secure.</summary>
    public bool MxSecure { get; }

    /// <summary>The rule for this message and MX answer; null when the message did not ask for REQUIRETLS or is a DSN.</summary>
    public static RequireTlsRule? For(Envelope envelope, MxResolution mx) =>
        envelope.Parameters.RequireTls && envelope.Sender.Length > 0 ? new RequireTlsRule(mx.Security == DnsSecurity.Secure) : null;

    /// <summary>
    /// The level for such a message: at least verify (strict TLS, PKIX for the MX name; a DNSSEC-secure
    /// TLSA RRset still makes it DANE), dane-only where that is already the level. Never opportunistic.
    /// </summary>
    public static OutboundTlsLevel Raise(OutboundTlsLevel level) => level == OutboundTlsLevel.DaneOnly ? level : OutboundTlsLevel.Verify;

    /// <summary>A report (empty return path) about a REQUIRETLS message: the flag without a sender to hold to the rule.</summary>
    public static bool IsReport(Envelope envelope) => envelope.Parameters.RequireTls && envelope.Sender.Length == 0;

    /// <summary>
    /// The level for such a report: at least encrypt (strict TLS, no plaintext fallback: the report carries
    /// the original message's header, RFC 8689 §5); DANE where the host has DNSSEC-secure TLSA, and a
    /// stricter configured level stays. The certificate need not be authenticated beyond that, so that a
    /// report is not lost for a sender whose MX is neither DNSSEC-signed nor under MTA-STS.
    /// </summary>
    public static OutboundTlsLevel RaiseForReport(OutboundTlsLevel level) => level.RequiresTls() ? level : OutboundTlsLevel.Encrypt;

    /// <summary>
    /// Why the connected host may not have the message (RFC 8689 §4.2.1 steps 2, 4, 5), or null when it may.
    /// The MTA-STS hook: a session verified by MTA-STS (<see cref="TlsVerification.MtaSts"/>) stands for a
    /// validated MX name even when the MX lookup was not DNSSEC-secure; DANE implies a secure MX lookup.
    /// </summary>
    public string? Refusal(NegotiatedTls? tls, ServerCapabilities capabilities)
    {
        if (tls is null) return "REQUIRETLS: no TLS";
        if (!tls.Verification.Authenticated()) return $"REQUIRETLS: the server certificate was not authenticated (verification {tls.Verification.Name()})";
        if (tls.Verification == TlsVerification.Verified && !MxSecure)
            return "REQUIRETLS: the MX lookup was not DNSSEC-secure and no MTA-STS policy validated the MX host";
        if (!capabilities.RequireTls) return "REQUIRETLS: the server does not advertise REQUIRETLS";
        return null;
    }

    /// <summary>
    /// Whether the hosts' failures end the message for good: true when every host was turned away by
    /// this rule (<paramref name="byRule"/>), none was down or unreachable (those are tried again).
    /// </summary>
    public static bool Fails<T>(IReadOnlyCollection<T> failures, Func<T, bool> byRule) => failures.Count > 0 && failures.All(byRule);

    /// <summary>The text of the 5.7.30 failure: what REQUIRETLS needs, then what each host lacked.</summary>
    public static string FailureText(string hosts) => $"REQUIRETLS support required (RFC 8689): no MX host took the message over authenticated TLS with REQUIRETLS: {hosts}";
}
