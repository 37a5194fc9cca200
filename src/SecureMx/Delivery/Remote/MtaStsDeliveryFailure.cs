using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Why an MX host fails (mode enforce) or would fail (mode testing) a recipient domain's MTA-STS
/// policy, or why the policy could not be had: <see cref="ResultType"/> is the result type of SMTP
/// TLS reporting (RFC 8460 §4.3: starttls-not-supported, certificate-host-mismatch,
/// certificate-expired, certificate-not-trusted, validation-failure, sts-policy-fetch-error), for the
/// TLS reports that will read the delivery log; <see cref="Detail"/> says it in words.
/// <see cref="ToString"/> is the delivery log's mta_sts_failure: "RESULT-TYPE: DETAIL".
/// </summary>
public sealed record MtaStsDeliveryFailure(string ResultType, string Detail)
{
    public const string StartTlsNotSupported = "starttls-not-supported";
    public const string CertificateHostMismatch = "certificate-host-mismatch";
    public const string CertificateExpired = "certificate-expired";
    public const string CertificateNotTrusted = "certificate-not-trusted";
    public const string ValidationFailure = "validation-failure";
    public const string PolicyFetchError = "sts-policy-fetch-error";

    /// <summary>The result type of a failed PKIX verdict (<see cref="PkixTrust.Validate"/> says which check failed first).</summary>
    public static string ResultTypeOf(PkixVerdict verdict) =>
        verdict.Valid ? throw new ArgumentException("the certificate is valid", nameof(verdict))
        : verdict.Detail.StartsWith("certificate is not for ", StringComparison.Ordinal) ? CertificateHostMismatch
        : verdict.Detail.Contains("expired or not yet valid", StringComparison.Ordinal) ? CertificateExpired
        : verdict.Detail.StartsWith("certificate not trusted", StringComparison.Ordinal) ? CertificateNotTrusted
        : ValidationFailure;

    public override string ToString() => $"{ResultType}: {Detail}";
}
