using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// The policy an outbound session to one MX host ran under, as a TLS report names it (RFC 8460 §4.4):
/// <c>tlsa</c> when the host has DNSSEC-secure TLSA records (DANE applies, and takes precedence over
/// MTA-STS: RFC 8461 §2), else <c>sts</c> when the recipient domain has an MTA-STS policy in enforce or
/// testing, else <c>no-policy-found</c>. The policy-string is the TLSA records ("usage selector matching
/// hexdata", RFC 6698 §2.2) or the MTA-STS policy's lines; mx-host the policy's mx patterns.
/// </summary>
public sealed record TlsSessionPolicy(TlsReportPolicyType Type, IReadOnlyList<string> Strings, IReadOnlyList<string> MxPatterns)
{
    public static readonly TlsSessionPolicy NoPolicyFound = new(TlsReportPolicyType.NoPolicyFound, [], []);

    /// <summary>DANE: the host's TLSA RRset; empty when the lookup gave no records (a bogus answer).</summary>
    public static TlsSessionPolicy Tlsa(TlsaResolution? tlsa) => new(TlsReportPolicyType.Tlsa, tlsa?.Records.Select(r => r.ToString()).ToList() ?? [], []);

    /// <summary>MTA-STS: the policy's lines as served (RFC 8460 §4.4 shows "version: STSv1", "mode: …", "mx: …", "max_age: …").</summary>
    public static TlsSessionPolicy Sts(MtaStsPolicy policy) =>
        new(TlsReportPolicyType.Sts, policy.ToText().Split("\r\n", StringSplitOptions.RemoveEmptyEntries), policy.Mx);

    /// <summary>
    /// The policy of a session to a host under <paramref name="requirement"/>: <paramref name="tlsa"/> is the
    /// host's TLSA answer (null when DANE does not apply), <paramref name="sts"/> the domain's MTA-STS policy
    /// being applied (null without one). A DANE host is tlsa; a secure RRset none of whose records is usable
    /// is tlsa too unless MTA-STS took the host (RFC 7672 §2.2 leaves it unauthenticated TLS; the report says tlsa-invalid).
    /// </summary>
    public static TlsSessionPolicy For(HostTlsRequirement requirement, TlsaResolution? tlsa, MtaStsDelivery? sts) =>
        requirement.Mode == HostTlsMode.Dane ? Tlsa(tlsa)
        : sts?.Lookup.Policy is { } policy ? Sts(policy)
        : tlsa?.Kind == TlsaResolutionKind.Secure ? Tlsa(tlsa)
        : NoPolicyFound;

    /// <summary>The result to record for one session (or one policy failure before any session).</summary>
    public TlsSessionResult Result(DateTimeOffset at, string domain, TlsResultType? failure, string? detail, string? mx = null, string? receivingIp = null, string? sendingIp = null) =>
        new(at, domain.ToLowerInvariant(), Type, Strings, MxPatterns, failure, mx, receivingIp, sendingIp, failure is null ? null : detail);
}
