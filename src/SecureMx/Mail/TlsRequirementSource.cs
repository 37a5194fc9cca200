namespace SecureMx.Mail;

/// <summary>
/// Where a TLS requirement that no server met came from — what decides whether the sender can do
/// something about it (switch its mandatory TLS off) or only the recipient's domain can (fix DANE).
/// <see cref="TlsRequirementSources.Name"/> gives the stored form.
/// </summary>
public enum TlsRequirementSource
{
    /// <summary>Mandatory TLS switched on for the sender's account or domain (level encrypt).</summary>
    Sender,

    /// <summary>A level of encrypt or stricter set by the operator: the destination table or delivery.defaultTlsLevel.</summary>
    Operator,

    /// <summary>The recipient's DNSSEC-secure TLSA records (RFC 7672 §2.2), whatever the configured level.</summary>
    DaneRecords,

    /// <summary>The recipient domain's MTA-STS policy in mode enforce (RFC 8461 §5), whatever the configured level.</summary>
    MtaSts,
}

public static class TlsRequirementSources
{
    public static string Name(this TlsRequirementSource source) => source switch
    {
        TlsRequirementSource.Sender => "sender",
        TlsRequirementSource.Operator => "operator",
        TlsRequirementSource.DaneRecords => "dane-records",
        TlsRequirementSource.MtaSts => "mta-sts",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    public static bool TryParse(string? text, out TlsRequirementSource source) => EnumNames.TryParse(text, Name, out source);
}
