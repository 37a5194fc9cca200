namespace SecureMx.Mail;

/// <summary>The policy a session to a recipient domain's MX ran under, as TLS reports name it (RFC 8460 §4.4 policy-type).</summary>
public enum TlsReportPolicyType
{
    /// <summary>"tlsa": DANE, DNSSEC-secure TLSA records of the MX host (RFC 7672).</summary>
    Tlsa,

    /// <summary>"sts": the recipient domain's MTA-STS policy (RFC 8461), enforce or testing.</summary>
    Sts,

    /// <summary>"no-policy-found": neither; the session is reported only in its counts.</summary>
    NoPolicyFound,
}

public static class TlsReportPolicyTypes
{
    public static string Name(this TlsReportPolicyType type) => type switch
    {
        TlsReportPolicyType.Tlsa => "tlsa",
        TlsReportPolicyType.Sts => "sts",
        TlsReportPolicyType.NoPolicyFound => "no-policy-found",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(string? text, out TlsReportPolicyType type) => EnumNames.TryParse(text, Name, out type);
}
