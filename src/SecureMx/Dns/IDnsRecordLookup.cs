using System.Net;
using System.Net.Sockets;

namespace SecureMx.Dns;

/// <summary>How one question was answered (RFC 1035 §4.1.1 RCODE, RFC 2308 for NODATA).</summary>
public enum DnsLookupStatus
{
    /// <summary>NOERROR with at least one record of the requested type.</summary>
    Records,

    /// <summary>NOERROR without records of the requested type.</summary>
    NoData,

    /// <summary>NXDOMAIN (also a name that cannot be a DNS name: empty label, label over 63 octets).</summary>
    NxDomain,

    /// <summary>SERVFAIL, REFUSED, another RCODE or no answer in time: a temporary failure.</summary>
    Failure,
}

/// <summary>The records of one type at one name, or why there are none.</summary>
public sealed record DnsLookup<T>(DnsLookupStatus Status, IReadOnlyList<T> Records, string? Reason)
{
    /// <summary>NXDOMAIN or NODATA: a "void lookup" in SPF's terms (RFC 7208 §4.6.4).</summary>
    public bool IsVoid => Status is DnsLookupStatus.NoData or DnsLookupStatus.NxDomain;
}

/// <summary>Makes <see cref="DnsLookup{T}"/> answers.</summary>
public static class DnsLookup
{
    public static DnsLookup<T> Found<T>(IReadOnlyList<T> records) => records.Count == 0 ? NoData<T>() : new(DnsLookupStatus.Records, records, null);

    public static DnsLookup<T> NoData<T>() => new(DnsLookupStatus.NoData, [], null);

    public static DnsLookup<T> NxDomain<T>() => new(DnsLookupStatus.NxDomain, [], null);

    public static DnsLookup<T> Failed<T>(string reason) => new(DnsLookupStatus.Failure, [], reason);
}

/// <summary>An MX record as SPF reads it (RFC 7208 §5.4): preference and exchange.</summary>
public sealed record MxRecordData(int Preference, string Exchange);

/// <summary>
/// Plain record lookups for authenticating inbound mail (SPF, DKIM keys, DMARC records): every
/// answer as it came, with NXDOMAIN and NODATA kept apart, through the same configured resolver and
/// timeouts as delivery. Implemented by <see cref="MailDnsResolver"/>; unit tests answer from a zone in memory.
/// </summary>
public interface IDnsRecordLookup
{
    /// <summary>TXT records; each record's character-strings joined without a separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2).</summary>
    Task<DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>A (<see cref="AddressFamily.InterNetwork"/>) or AAAA (<see cref="AddressFamily.InterNetworkV6"/>) records.</summary>
    Task<DnsLookup<IPAddress>> AddressesAsync(string name, AddressFamily family, CancellationToken cancellationToken = default);

    /// <summary>MX records, as published (no implicit MX: RFC 7208 §5.4 wants none).</summary>
    Task<DnsLookup<MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>PTR names of an address (in-addr.arpa / ip6.arpa), without a trailing dot.</summary>
    Task<DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default);
}
