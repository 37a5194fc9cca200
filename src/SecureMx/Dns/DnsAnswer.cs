namespace SecureMx.Dns;

/// <summary>How the resolver answered one question (RFC 1035 §4.1.1 RCODE, RFC 2308 for NODATA).</summary>
internal enum DnsAnswerStatus
{
    /// <summary>NOERROR with at least one record of the requested type.</summary>
    Records,

    /// <summary>NOERROR without records of the requested type (RFC 2308 §2.2 "NODATA"; also a CNAME chain ending in NODATA).</summary>
    NoData,

    /// <summary>NXDOMAIN (RFC 2308 §2.1; for a CNAME chain the RCODE describes the last name, RFC 6604 §3).</summary>
    NxDomain,

    /// <summary>SERVFAIL, REFUSED, other RCODEs, or no answer at all (timeout): a temporary failure.</summary>
    Failure,
}

/// <summary>
/// One classified resolver answer: only records of the requested type are kept (a CNAME chain in the
/// answer section is followed by the resolver; RFC 1034 §3.6.2), with the AD bit and, for failures,
/// a short reason ("SERVFAIL", "timeout …").
/// </summary>
internal sealed record DnsAnswer<T>(DnsAnswerStatus Status, DnsSecurity Security, IReadOnlyList<T> Records, string? Reason)
{
    public static DnsAnswer<T> Fail(string reason) => new(DnsAnswerStatus.Failure, DnsSecurity.Insecure, [], reason);

    public static DnsAnswer<T> NoData(DnsSecurity security) => new(DnsAnswerStatus.NoData, security, [], null);

    public static DnsAnswer<T> NxDomain(DnsSecurity security) => new(DnsAnswerStatus.NxDomain, security, [], null);

    public static DnsAnswer<T> Found(IReadOnlyList<T> records, DnsSecurity security) =>
        records.Count == 0 ? NoData(security) : new(DnsAnswerStatus.Records, security, records, null);
}
