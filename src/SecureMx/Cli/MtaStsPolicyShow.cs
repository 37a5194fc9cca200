using System.Globalization;
using SecureMx.MtaSts;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// The source <c>mta-sts</c> of `securemx policy show DOMAIN` for a recipient domain: its cached MTA-STS
/// policy (table mta_sts_policies: mode, id, mx patterns, expiry, last refresh error) and the rule
/// delivery makes of it (RFC 8461 §4, §5), or why none applies.
/// </summary>
internal static class MtaStsPolicyShow
{
    /// <summary>The lines for <paramref name="domain"/>; <paramref name="usesDane"/> false: the destination entry switched the recipient-side policies off.</summary>
    public static IReadOnlyList<string> Lines(string domain, MtaStsPolicyRow? row, bool usesDane, DateTimeOffset now)
    {
        var lines = new List<string>();
        if (row is null)
        {
            lines.Add($"  mta-sts: no cached policy for {domain} (looked up at the next delivery; `securemx probe {domain}` shows it now)");
            if (!usesDane) lines.Add("    not used for mail to this domain: the destination entry is below dane");
            return lines;
        }
        var (policy, error) = MtaStsPolicy.Parse(row.Policy);
        var expired = row.ExpiresAt <= now;
        lines.Add($"  mta-sts: {(policy is null ? "invalid cached policy" : policy.Mode.Name())} (id {row.PolicyId}), fetched {Time(row.FetchedAt)}, expires {Time(row.ExpiresAt)}{(expired ? " (expired: not used)" : "")}");
        if (policy is not null && policy.Mx.Count > 0) lines.Add($"    mx: {string.Join(", ", policy.Mx)}");
        if (policy is null) lines.Add($"    the cached text is not a policy: {error}");
        lines.Add(row.LastError is null ? $"    last checked {Time(row.CheckedAt)}: ok" : $"    last checked {Time(row.CheckedAt)}: refresh failed: {row.LastError} (the cached policy stays in use until it expires)");
        lines.Add("    rule: " + Rule(policy, expired, usesDane));
        return lines;
    }

    /// <summary>One line per cached policy for `policy show` without an argument: "mta-sts DOMAIN: MODE (id ID), expires …".</summary>
    public static string Summary(MtaStsPolicyRow row, DateTimeOffset now)
    {
        var policy = MtaStsPolicy.Parse(row.Policy).Policy;
        return $"mta-sts {row.Domain}: {(policy is null ? "invalid cached policy" : policy.Mode.Name())} (id {row.PolicyId}), expires {Time(row.ExpiresAt)}"
            + (row.ExpiresAt <= now ? " (expired: not used)" : "") + (row.LastError is null ? "" : $"; last refresh failed: {row.LastError}");
    }

    /// <summary>What delivery does with the policy, in one sentence.</summary>
    internal static string Rule(MtaStsPolicy? policy, bool expired, bool usesDane) =>
        !usesDane ? "not used for mail to this domain: the destination entry is below dane (the operator's override switches DANE and MTA-STS off)"
        : policy is null || expired ? "none until a valid policy is fetched again (delivery as without MTA-STS, RFC 8461 §5)"
        : policy.Mode switch
        {
            MtaStsMode.Enforce => "mail to this domain goes only to the MX hosts listed above, over TLS 1.2+ with secure ciphers and a certificate valid (PKIX) for the MX name; "
                + "a host that fails is skipped, and when none is left the mail waits (4.7.4/4.7.5), never plaintext; DNSSEC-secure TLSA records of an MX host take precedence (DANE)",
            MtaStsMode.Testing => "delivered as without MTA-STS; what enforce would refuse is logged and written to the delivery log (mta_sts_failure)",
            _ => "none (the domain switched MTA-STS off: mode none)",
        };

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
