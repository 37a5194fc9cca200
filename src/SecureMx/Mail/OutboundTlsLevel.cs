namespace SecureMx.Mail;

/// <summary>
/// Outbound TLS levels in Postfix's vocabulary (docs/ARCHITECTURE.md, "Policy model"), ordered from the most lenient to
/// the strictest, so that "the strictest of several settings" is their maximum:
/// <c>none</c> never TLS · <c>may</c> opportunistic, plaintext after a failed handshake ·
/// <c>dane</c> DANE where the TLSA RRset is DNSSEC-secure, else <c>may</c> · <c>encrypt</c> TLS 1.2/1.3
/// with the strict cipher policy, certificate not verified (the product's "mandatory TLS") ·
/// <c>dane-only</c> DANE required for every MX host · <c>verify</c> mandatory TLS with a PKIX
/// certificate valid for the MX host name.
/// A DNSSEC-secure, usable TLSA RRset forces DANE verification at every level (RFC 7672 §2.2),
/// unless the destination table lowered the recipient domain to none or may (the effective policy's UsesDane).
/// </summary>
public enum OutboundTlsLevel { None, May, Dane, Encrypt, DaneOnly, Verify }

public static class OutboundTlsLevels
{
    public static string Name(this OutboundTlsLevel level) => level switch
    {
        OutboundTlsLevel.None => "none",
        OutboundTlsLevel.May => "may",
        OutboundTlsLevel.Dane => "dane",
        OutboundTlsLevel.Encrypt => "encrypt",
        OutboundTlsLevel.DaneOnly => "dane-only",
        OutboundTlsLevel.Verify => "verify",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    public static bool TryParse(string text, out OutboundTlsLevel level) => EnumNames.TryParse(text, Name, out level);

    public static string AllNames => string.Join(", ", Enum.GetValues<OutboundTlsLevel>().Select(l => l.Name()));

    /// <summary>At least TLS 1.2 with the strict profile, whatever the DNS says.</summary>
    public static bool RequiresTls(this OutboundTlsLevel level) => level >= OutboundTlsLevel.Encrypt;
}
