using SecureMx.Mail;
using SecureMx.MtaSts;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Why an MX host fails (mode enforce) or would fail (mode testing) a recipient domain's MTA-STS
/// policy, or why the policy could not be had: <see cref="ResultType"/> is the result type of SMTP
/// TLS reporting (RFC 8460 §4.3, <see cref="TlsResultType"/>: starttls-not-supported,
/// certificate-host-mismatch, certificate-expired, certificate-not-trusted, validation-failure, and
/// the policy failures of the fetch), for the TLS reports that will read the delivery log;
/// <see cref="Detail"/> says it in words. <see cref="ToString"/> is the delivery log's mta_sts_failure: "RESULT-TYPE: DETAIL".
/// </summary>
public sealed record MtaStsDeliveryFailure(TlsResultType ResultType, string Detail)
{
    public override string ToString() => $"{ResultType.Name()}: {Detail}";
}
