namespace SecureMx.MtaSts;

/// <summary>What the "_mta-sts" TXT lookup of a domain found (RFC 8461 §3.1).</summary>
public enum MtaStsDiscoveryKind
{
    /// <summary>Exactly one valid "v=STSv1" record: <see cref="MtaStsDiscovery.Record"/>.</summary>
    Record,

    /// <summary>No "v=STSv1" record (NXDOMAIN, NODATA, only other TXT records): the domain announces no policy.</summary>
    NoRecord,

    /// <summary>"v=STSv1" records that do not make one valid record (two of them, no id …): as no record (§3.1), with <see cref="MtaStsDiscovery.Reason"/>.</summary>
    Invalid,

    /// <summary>The lookup failed (SERVFAIL, timeout): nothing is known; <see cref="MtaStsDiscovery.Reason"/>.</summary>
    TemporaryFailure,
}

/// <summary>The answer of <see cref="IMtaStsPolicyFetcher.DiscoverAsync"/>.</summary>
public sealed record MtaStsDiscovery(MtaStsDiscoveryKind Kind, MtaStsTxtRecord? Record = null, string? Reason = null)
{
    public static readonly MtaStsDiscovery NoRecord = new(MtaStsDiscoveryKind.NoRecord);

    public static MtaStsDiscovery Found(MtaStsTxtRecord record) => new(MtaStsDiscoveryKind.Record, record);

    public static MtaStsDiscovery InvalidRecord(string reason) => new(MtaStsDiscoveryKind.Invalid, Reason: reason);

    public static MtaStsDiscovery Failed(string reason) => new(MtaStsDiscoveryKind.TemporaryFailure, Reason: reason);
}
