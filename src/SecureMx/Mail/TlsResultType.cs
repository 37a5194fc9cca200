namespace SecureMx.Mail;

/// <summary>
/// The result types of SMTP TLS reporting (RFC 8460 §4.3): why a session to a recipient domain's MX
/// failed its TLS policy (§4.3.1 negotiation, §4.3.2 policy). The one vocabulary of MTA-STS, DANE,
/// the delivery log and the reports sent and received; <see cref="TlsResultTypes.Name"/> is the RFC's string.
/// </summary>
public enum TlsResultType
{
    /// <summary>"sts-policy-fetch-error": no answer to use: the TXT lookup or the host's address lookup failed, no connection, a timeout, an HTTP status other than 200 (a redirect included).</summary>
    PolicyFetchError,

    /// <summary>"sts-policy-invalid": an answer came, but it is not a policy: not text/plain, larger than 64 KiB, not UTF-8, or not a valid policy body.</summary>
    PolicyInvalid,

    /// <summary>"sts-webpki-invalid": the policy host's certificate did not pass PKIX validation for "mta-sts.DOMAIN".</summary>
    WebPkiInvalid,

    /// <summary>"starttls-not-supported": the MX host offered no STARTTLS, or gave no TLS session.</summary>
    StartTlsNotSupported,

    /// <summary>"certificate-host-mismatch": the MX host's certificate does not name it.</summary>
    CertificateHostMismatch,

    /// <summary>"certificate-expired": the MX host's certificate (or its chain) is expired or not yet valid.</summary>
    CertificateExpired,

    /// <summary>"certificate-not-trusted": the MX host's certificate does not chain to a trusted CA.</summary>
    CertificateNotTrusted,

    /// <summary>"validation-failure": any other reason the MX host fails the policy (not listed, TLS below the strict profile, no certificate).</summary>
    ValidationFailure,

    /// <summary>"tlsa-invalid": DANE: no TLSA record matched the MX host's certificate (or the records are unusable).</summary>
    TlsaInvalid,

    /// <summary>"dnssec-invalid": DANE: the TLSA (or MX/address) lookup came back bogus; no valid DNSSEC answer.</summary>
    DnssecInvalid,

    /// <summary>"dane-required": DANE was required by our side (level dane-only, RFC 7672 §6) but the MX host has no DNSSEC-validated TLSA records (a secure TLSA host without STARTTLS is starttls-not-supported).</summary>
    DaneRequired,
}

public static class TlsResultTypes
{
    /// <summary>The result type of RFC 8460 §4.3.</summary>
    public static string Name(this TlsResultType type) => type switch
    {
        TlsResultType.PolicyFetchError => "sts-policy-fetch-error",
        TlsResultType.PolicyInvalid => "sts-policy-invalid",
        TlsResultType.WebPkiInvalid => "sts-webpki-invalid",
        TlsResultType.StartTlsNotSupported => "starttls-not-supported",
        TlsResultType.CertificateHostMismatch => "certificate-host-mismatch",
        TlsResultType.CertificateExpired => "certificate-expired",
        TlsResultType.CertificateNotTrusted => "certificate-not-trusted",
        TlsResultType.ValidationFailure => "validation-failure",
        TlsResultType.TlsaInvalid => "tlsa-invalid",
        TlsResultType.DnssecInvalid => "dnssec-invalid",
        TlsResultType.DaneRequired => "dane-required",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(string? text, out TlsResultType type) => EnumNames.TryParse(text, Name, out type);
}
