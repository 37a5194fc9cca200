namespace SecureMx.MtaSts;

/// <summary>
/// Why no valid MTA-STS policy could be had from the policy host, in the words of TLS reporting
/// (RFC 8460 §4.3.2, "Policy Failures"), so a report can count each failure under its result type.
/// </summary>
public enum MtaStsFailureType
{
    /// <summary>"sts-policy-fetch-error": no answer to use: the TXT lookup or the host's address lookup failed, no connection, a timeout, an HTTP status other than 200 (a redirect included).</summary>
    PolicyFetchError,

    /// <summary>"sts-policy-invalid": an answer came, but it is not a policy: not text/plain, larger than 64 KiB, not UTF-8, or not a valid policy body.</summary>
    PolicyInvalid,

    /// <summary>"sts-webpki-invalid": the policy host's certificate did not pass PKIX validation for "mta-sts.DOMAIN".</summary>
    WebPkiInvalid,
}

public static class MtaStsFailureTypes
{
    /// <summary>The result type of RFC 8460 §4.3.2.</summary>
    public static string Name(this MtaStsFailureType type) => type switch
    {
        MtaStsFailureType.PolicyFetchError => "sts-policy-fetch-error",
        MtaStsFailureType.PolicyInvalid => "sts-policy-invalid",
        MtaStsFailureType.WebPkiInvalid => "sts-webpki-invalid",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
