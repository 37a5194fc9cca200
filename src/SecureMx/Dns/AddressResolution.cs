using System.Net;
using System.Net.Sockets;
using SecureMx.Mail;

namespace SecureMx.Dns;

/// <summary>
/// The A and AAAA records of one mail host (RFC 5321 §5.1: "the SMTP client ... MUST try ... the
/// addresses"; both families are looked up, RFC 3974 / RFC 6724 on dual stack), with their DNSSEC status.
/// </summary>
public sealed class AddressResolution
{
    private AddressResolution(string host, IReadOnlyList<IPAddress> ipv4, IReadOnlyList<IPAddress> ipv6, DnsSecurity security,
        bool hostDoesNotExist, string? failureReason, string? partialFailure)
    {
        Host = host;
        IPv4 = ipv4;
        IPv6 = ipv6;
        Security = security;
        HostDoesNotExist = hostDoesNotExist;
        FailureReason = failureReason;
        PartialFailure = partialFailure;
    }

    /// <summary>The host name that was looked up (as given: ASCII, no trailing dot).</summary>
    public string Host { get; }

    /// <summary>A records (no duplicates, in answer order).</summary>
    public IReadOnlyList<IPAddress> IPv4 { get; }

    /// <summary>AAAA records (no duplicates, in answer order).</summary>
    public IReadOnlyList<IPAddress> IPv6 { get; }

    /// <summary>All addresses: IPv6 first, then IPv4 (the RFC 6724 default preference; the caller may reorder).</summary>
    public IReadOnlyList<IPAddress> Addresses => [.. IPv6, .. IPv4];

    /// <summary>
    /// Secure when every answer that was used (A and AAAA; NODATA and NXDOMAIN count) carried AD=1.
    /// RFC 7672 §2.2.2: TLSA records of a host are only looked up when its address records are secure.
    /// </summary>
    public DnsSecurity Security { get; }

    /// <summary>Both lookups answered NXDOMAIN (the name does not exist at all).</summary>
    public bool HostDoesNotExist { get; }

    /// <summary>Set when no address was found and at least one of the two lookups failed (SERVFAIL, timeout …): defer.</summary>
    public string? FailureReason { get; }

    /// <summary>
    /// Set when one family failed but the other gave addresses: delivery goes ahead with those (as
    /// Postfix does), the reason is kept for the log.
    /// </summary>
    public string? PartialFailure { get; }

    /// <summary>The lookup failed temporarily and gave no address: defer.</summary>
    public bool IsTemporaryFailure => FailureReason is not null;

    /// <summary>At least one address to try.</summary>
    public bool HasAddresses => IPv4.Count + IPv6.Count > 0;

    /// <summary>
    /// Null when there are addresses; 4.4.3 (defer) after a temporary failure; otherwise the
    /// permanent "no address" status for this single host (5.4.4, RFC 3463 X.4.4 "Unable to route").
    /// Whether the recipient then bounces is the caller's decision: only when no MX host is usable
    /// (<see cref="MxResolution.NoAddressFailure"/>).
    /// </summary>
    public DnsFailure? Failure =>
        HasAddresses ? null
        : FailureReason is not null ? DnsFailure.Temporary($"DNS lookup of A/AAAA for {Host} failed: {FailureReason}")
        : HostDoesNotExist ? new DnsFailure(550, EnhancedStatus.UnableToRoute, $"mail host {Host} does not exist (NXDOMAIN)")
        : new DnsFailure(550, EnhancedStatus.UnableToRoute, $"mail host {Host} has no address (A/AAAA) record");

    /// <summary>Combines the A and the AAAA answer (RFC 5321 §5.1; a CNAME in between is already resolved).</summary>
    internal static AddressResolution Combine(string host, DnsAnswer<IPAddress> a, DnsAnswer<IPAddress> aaaa)
    {
        var v4 = a.Records.Where(x => x.AddressFamily == AddressFamily.InterNetwork).Distinct().ToList();
        var v6 = aaaa.Records.Where(x => x.AddressFamily == AddressFamily.InterNetworkV6).Distinct().ToList();
        var failures = new[] { ("A", a), ("AAAA", aaaa) }
            .Where(x => x.Item2.Status == DnsAnswerStatus.Failure)
            .Select(x => $"{x.Item1}: {x.Item2.Reason}")
            .ToList();
        var used = new[] { a, aaaa }.Where(x => x.Status != DnsAnswerStatus.Failure).ToList();
        var security = used.Count > 0 && used.All(x => x.Security == DnsSecurity.Secure) ? DnsSecurity.Secure : DnsSecurity.Insecure;
        bool any = v4.Count + v6.Count > 0;
        string? reason = failures.Count == 0 ? null : string.Join("; ", failures);
        return new AddressResolution(host, v4, v6, security,
            hostDoesNotExist: a.Status == DnsAnswerStatus.NxDomain && aaaa.Status == DnsAnswerStatus.NxDomain,
            failureReason: any ? null : reason,
            partialFailure: any ? reason : null);
    }

    public override string ToString() =>
        Failure is { } f ? $"{Host}: {f} ({Security})" : $"{Host}: {string.Join(", ", Addresses)} ({Security})";
}
