using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>What an enforce MTA-STS policy holds against one MX host; <see cref="None"/>: it would deliver there.</summary>
public enum MtaStsHostFault
{
    None,

    /// <summary>The host has a DNSSEC-secure usable TLSA RRset, so DANE decides (RFC 8461 §2), and DANE does not verify.</summary>
    DaneNotVerified,

    /// <summary>The policy does not list the host (RFC 8461 §4.1).</summary>
    NotListed,

    /// <summary>No TLS session: no STARTTLS, or the (strict) handshake failed.</summary>
    NoTls,

    /// <summary>The certificate is not PKIX-valid for the MX name (RFC 8461 §4.2).</summary>
    CertificateNotValid,

    /// <summary>The certificate was not checked: a session without a PKIX verdict is not trusted.</summary>
    CertificateNotChecked,

    /// <summary>TLS below the strict profile.</summary>
    BelowStrictTls,
}

/// <summary>
/// The rule an enforce MTA-STS policy puts on one MX host (RFC 8461 §4, §5): DANE first (§2: a host
/// with a DNSSEC-secure usable TLSA RRset is DANE's alone); else the host is listed in the policy
/// (§4.1), and its session is TLS over the strict profile with a certificate PKIX-valid for the MX
/// name (§4.2). Delivery (<see cref="MtaStsDelivery"/>) and `securemx probe` (<see cref="TlsProbe"/>)
/// both ask it, so what the probe says enforce would do is what delivery does.
/// </summary>
public static class MtaStsEnforceRule
{
    /// <summary>Before connecting: whether the policy lets the host be tried at all.</summary>
    public static MtaStsHostFault OfHost(bool listed) => listed ? MtaStsHostFault.None : MtaStsHostFault.NotListed;

    /// <summary>After the handshake with a listed host: the session (null: no TLS) and the PKIX verdict of its certificate (null: not checked).</summary>
    public static MtaStsHostFault OfSession(NegotiatedTls? tls, PkixVerdict? pkix) =>
        tls is null ? MtaStsHostFault.NoTls
        : pkix is { Valid: false } ? MtaStsHostFault.CertificateNotValid
        : pkix is null ? MtaStsHostFault.CertificateNotChecked
        : !tls.IsStrict ? MtaStsHostFault.BelowStrictTls
        : MtaStsHostFault.None;

    /// <summary>
    /// The whole rule for one host. <paramref name="daneVerified"/>: null when DANE does not apply (no
    /// DNSSEC-secure usable TLSA records), else whether DANE verified the host; then nothing else counts.
    /// </summary>
    public static MtaStsHostFault Check(bool? daneVerified, bool listed, NegotiatedTls? tls, PkixVerdict? pkix) =>
        daneVerified is { } dane ? (dane ? MtaStsHostFault.None : MtaStsHostFault.DaneNotVerified)
        : OfHost(listed) is var host and not MtaStsHostFault.None ? host
        : OfSession(tls, pkix);
}
