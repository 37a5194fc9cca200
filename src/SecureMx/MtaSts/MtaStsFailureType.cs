using SecureMx.Tls;

namespace SecureMx.MtaSts;

/// <summary>
/// What went wrong with MTA-STS, in the result types of SMTP TLS reporting (RFC 8460 §4.3), so a
/// report can count each failure under its type: the policy failures of fetching (§4.3.2) and the
/// negotiation failures of delivery (§4.3.1). The one vocabulary of both sides; <see cref="MtaStsFailureTypes.Name"/>
/// is the RFC's string, as the store, the delivery log and the metrics write it.
/// </summary>
public enum MtaStsFailureType
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
}

public static class MtaStsFailureTypes
{
    /// <summary>The result type of RFC 8460 §4.3.</summary>
    public static string Name(this MtaStsFailureType type) => type switch
    {
        MtaStsFailureType.PolicyFetchError => "sts-policy-fetch-error",
        MtaStsFailureType.PolicyInvalid => "sts-policy-invalid",
        MtaStsFailureType.WebPkiInvalid => "sts-webpki-invalid",
        MtaStsFailureType.StartTlsNotSupported => "starttls-not-supported",
        MtaStsFailureType.CertificateHostMismatch => "certificate-host-mismatch",
        MtaStsFailureType.CertificateExpired => "certificate-expired",
        MtaStsFailureType.CertificateNotTrusted => "certificate-not-trusted",
        MtaStsFailureType.ValidationFailure => "validation-failure",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The result type of an MX host's certificate that failed PKIX (RFC 8460 §4.3.1), by the check <see cref="PkixTrust"/> saw fail first.</summary>
    public static MtaStsFailureType Of(PkixVerdict verdict) => verdict.Failure switch
    {
        PkixFailure.None => throw new ArgumentException("the certificate is valid", nameof(verdict)),
        PkixFailure.NameMismatch => MtaStsFailureType.CertificateHostMismatch,
        PkixFailure.Expired => MtaStsFailureType.CertificateExpired,
        PkixFailure.NotTrusted => MtaStsFailureType.CertificateNotTrusted,
        _ => MtaStsFailureType.ValidationFailure,
    };
}
