using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.MtaSts;

public static class MtaStsFailureTypes
{
    /// <summary>The result type of an MX host's certificate that failed PKIX (RFC 8460 §4.3.1), by the check <see cref="PkixTrust"/> saw fail first.</summary>
    public static TlsResultType Of(PkixVerdict verdict) => verdict.Failure switch
    {
        PkixFailure.None => throw new ArgumentException("the certificate is valid", nameof(verdict)),
        PkixFailure.NameMismatch => TlsResultType.CertificateHostMismatch,
        PkixFailure.Expired => TlsResultType.CertificateExpired,
        PkixFailure.NotTrusted => TlsResultType.CertificateNotTrusted,
        _ => TlsResultType.ValidationFailure,
    };
}
