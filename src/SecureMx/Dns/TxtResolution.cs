namespace SecureMx.Dns;

/// <summary>What a TXT lookup found.</summary>
public enum TxtResolutionKind
{
    /// <summary>NOERROR with TXT records.</summary>
    Records,

    /// <summary>NXDOMAIN or NODATA: the name has no TXT records.</summary>
    None,

    /// <summary>SERVFAIL, timeout or another resolver error (<see cref="TxtResolution.FailureReason"/>).</summary>
    TemporaryFailure,
}

/// <summary>
/// The TXT RRset of one name (RFC 1035 §3.3.14): each record's character-strings joined into one
/// string, as RFC 8461 §3.1 reads them. <see cref="Security"/> is the AD bit.
/// </summary>
public sealed record TxtResolution(string Name, TxtResolutionKind Kind, DnsSecurity Security, IReadOnlyList<string> Records, string? FailureReason)
{
    public static TxtResolution Failed(string name, string reason) => new(name, TxtResolutionKind.TemporaryFailure, DnsSecurity.Insecure, [], reason);

    public static TxtResolution NoRecords(string name, DnsSecurity security) => new(name, TxtResolutionKind.None, security, [], null);

    public static TxtResolution Found(string name, IReadOnlyList<string> records, DnsSecurity security) =>
        records.Count == 0 ? NoRecords(name, security) : new(name, TxtResolutionKind.Records, security, records, null);
}
