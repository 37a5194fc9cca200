using SecureMx.Mail;
namespace SecureMx.Dns;

/// <summary>What an MX lookup says about where mail for a domain goes.</summary>
public enum MxResolutionKind
{
    /// <summary>An MX RRset with at least one usable host (RFC 5321 §5.1).</summary>
    Hosts,

    /// <summary>The domain exists but has no MX RRset: the domain itself is the single host, with preference 0 (RFC 5321 §5.1 "implicit MX").</summary>
    Implicit,

    /// <summary>The domain publishes a null MX ("MX 0 ."): it accepts no mail (RFC 7505 §3); bounce at once with 5.1.10 (RFC 7505 §4.3).</summary>
    NullMx,

    /// <summary>NXDOMAIN: the domain does not exist; bounce at once with 5.1.2 (RFC 3463 X.1.2 "Bad destination system address").</summary>
    NoSuchDomain,

    /// <summary>SERVFAIL, REFUSED, timeout or another resolver error: defer with 4.4.3 and try again later (RFC 5321 §5.1 "temporary error").</summary>
    TemporaryFailure,
}

/// <summary>
/// The result of an MX lookup for a mail domain (RFC 5321 §5.1, RFC 7505), with the DNSSEC status
/// of the MX answer (RFC 7672 §2.2.1: the MX RRset must be secure for DANE to apply to its hosts).
/// </summary>
public sealed class MxResolution
{
    private MxResolution(string domain, MxResolutionKind kind, IReadOnlyList<MxHost> hosts, DnsSecurity security, string? reason)
    {
        Domain = domain;
        Kind = kind;
        Hosts = hosts;
        Security = security;
        Reason = reason;
    }

    /// <summary>The mail domain that was looked up.</summary>
    public string Domain { get; }

    public MxResolutionKind Kind { get; }

    /// <summary>
    /// For <see cref="MxResolutionKind.Hosts"/>: the hosts in the order to try them — ascending
    /// preference, hosts of equal preference in random order (RFC 5321 §5.1: "the SMTP client SHOULD
    /// randomize them to spread the load"). Empty for every other kind.
    /// </summary>
    public IReadOnlyList<MxHost> Hosts { get; }

    /// <summary>DNSSEC status of the MX answer (also of an NXDOMAIN or of the NODATA that made the MX implicit).</summary>
    public DnsSecurity Security { get; }

    /// <summary>
    /// RFC 7672 §2.2: the TLSA records of a host count only when the MX RRset (for an implicit MX:
    /// the address records themselves) and the host's address records are DNSSEC-secure.
    /// </summary>
    public bool DaneAppliesTo(AddressResolution host) =>
        host.Security == DnsSecurity.Secure && (Kind == MxResolutionKind.Implicit || Security == DnsSecurity.Secure);

    /// <summary>For <see cref="MxResolutionKind.TemporaryFailure"/>: why, e.g. "SERVFAIL" or "timeout …".</summary>
    public string? Reason { get; }

    /// <summary>
    /// The hosts to try: <see cref="Hosts"/>, or for an implicit MX the domain itself with preference 0
    /// (RFC 5321 §5.1); empty when there is nothing to try (<see cref="Failure"/> is then set).
    /// </summary>
    public IReadOnlyList<MxHost> Targets => Kind == MxResolutionKind.Implicit ? [new MxHost(Domain, 0)] : Hosts;

    /// <summary>
    /// The status to give every recipient of the domain when there is nothing to try; null for
    /// <see cref="MxResolutionKind.Hosts"/> and <see cref="MxResolutionKind.Implicit"/>.
    /// </summary>
    public DnsFailure? Failure => Kind switch
    {
        MxResolutionKind.NullMx => new DnsFailure(556, EnhancedStatus.NullMx, $"{Domain} does not accept mail (null MX, RFC 7505)"),
        MxResolutionKind.NoSuchDomain => new DnsFailure(550, EnhancedStatus.BadDestinationSystem, $"domain {Domain} does not exist"),
        MxResolutionKind.TemporaryFailure => DnsFailure.Temporary($"DNS lookup of MX for {Domain} failed: {Reason}"),
        _ => null,
    };

    /// <summary>
    /// The permanent failure to report when no target has any address (A/AAAA) record. RFC 5321 §5.1:
    /// "If MX records are present, but none of them are usable, or the implicit MX is unusable, this
    /// situation MUST be reported as an error." For an implicit MX the domain has neither MX nor
    /// address records: it is not a mail domain (5.1.2); for MX hosts without addresses the routing
    /// information is unusable (5.4.4). Temporary address failures are reported by
    /// <see cref="AddressResolution.Failure"/> instead (defer, do not bounce).
    /// </summary>
    public DnsFailure NoAddressFailure() => Kind == MxResolutionKind.Implicit
        ? new DnsFailure(550, EnhancedStatus.BadDestinationSystem, $"domain {Domain} has no MX and no address (A/AAAA) record: it does not accept mail (RFC 5321 §5.1)")
        : new DnsFailure(550, EnhancedStatus.UnableToRoute, $"no MX host of {Domain} has an address (A/AAAA) record");

    /// <summary>
    /// Builds the result from the exchange/preference pairs of an MX RRset (exchange names with or
    /// without the trailing dot; "." or "" is the root). Applies RFC 7505 §3 (a single MX whose
    /// exchange is the root is a null MX; a root exchange next to real hosts is ignored), removes
    /// duplicate host names (keeping the lowest preference) and orders by preference, shuffling
    /// hosts of equal preference with <paramref name="random"/>. No records at all means an implicit MX.
    /// </summary>
    public static MxResolution FromRecords(string domain, IEnumerable<(string Exchange, int Preference)> records, DnsSecurity security, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var all = records.Select(r => (Name: NormalizeName(r.Exchange), r.Preference)).ToList();
        if (all.Count == 0) return new MxResolution(domain, MxResolutionKind.Implicit, [], security, null);
        var hosts = all.Where(r => r.Name.Length > 0).ToList();
        if (hosts.Count == 0) return new MxResolution(domain, MxResolutionKind.NullMx, [], security, null);
        var unique = hosts
            .GroupBy(h => h.Name, StringComparer.Ordinal)
            .Select(g => new MxHost(g.Key, g.Min(h => h.Preference)));
        return new MxResolution(domain, MxResolutionKind.Hosts, Order(unique, random), security, null);
    }

    public static MxResolution NoSuchDomain(string domain, DnsSecurity security) => new(domain, MxResolutionKind.NoSuchDomain, [], security, null);

    public static MxResolution TemporaryFailure(string domain, string reason) => new(domain, MxResolutionKind.TemporaryFailure, [], DnsSecurity.Insecure, reason);

    /// <summary>
    /// Ascending preference; within one preference a uniform random permutation (Fisher–Yates with
    /// <paramref name="random"/>), RFC 5321 §5.1. The input order of equal hosts does not matter for
    /// the distribution. Callers that share a <see cref="Random"/> across threads must serialize.
    /// </summary>
    public static IReadOnlyList<MxHost> Order(IEnumerable<MxHost> hosts, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var result = new List<MxHost>();
        foreach (var group in hosts.GroupBy(h => h.Preference).OrderBy(g => g.Key))
        {
            // Sort first so that the result depends only on the set of hosts and the random sequence.
            var same = group.OrderBy(h => h.Name, StringComparer.Ordinal).ToArray();
            for (int i = same.Length - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (same[i], same[j]) = (same[j], same[i]);
            }
            result.AddRange(same);
        }
        return result;
    }

    /// <summary>Lower case, without the trailing dot; the root (".") becomes "".</summary>
    internal static string NormalizeName(string name) => name.TrimEnd('.').ToLowerInvariant();

    public override string ToString() => Kind switch
    {
        MxResolutionKind.Hosts => $"{Domain}: MX {string.Join(", ", Hosts.Select(h => $"{h.Preference} {h.Name}"))} ({Security})",
        MxResolutionKind.Implicit => $"{Domain}: no MX, implicit MX {Domain} ({Security})",
        _ => $"{Domain}: {Failure} ({Security})",
    };
}
