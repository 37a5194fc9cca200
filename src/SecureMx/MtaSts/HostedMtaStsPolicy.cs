using System.Security.Cryptography;
using System.Text;
using SecureMx.Config;

namespace SecureMx.MtaSts;

/// <summary>
/// The MTA-STS policy SecureMx serves for one hosted domain (RFC 8461 §3.2), its text and the id of
/// its "_mta-sts" TXT record. The mode is the domain's setting (`securemx policy mta-sts`); the MX
/// names are the instance's: the secure MX host, and, unless the domain's inbound TLS is mandatory,
/// also the ordinary MX (hostname, while listeners.mx is on), which takes the domain's mail too;
/// max_age is mtaSts.maxAge.
/// <para>
/// The id is derived from the text (the first 128 bits of its SHA-256, in hex: 32 letters and digits,
/// RFC 8461 §3.1): it changes exactly when the policy does, and every node of a cluster computes the
/// same one from the same store and configuration, without anything to coordinate or store.
/// </para>
/// </summary>
public sealed record HostedMtaStsPolicy(string Domain, MtaStsPolicy Policy, string Text, string Id)
{
    /// <summary>The policy of <paramref name="domain"/> with <paramref name="mode"/>; only the secure MX when <paramref name="inboundMandatory"/>.</summary>
    public static HostedMtaStsPolicy For(string domain, MtaStsMode mode, bool inboundMandatory, SecureMxOptions options)
    {
        var policy = new MtaStsPolicy(mode, MxNames(options, inboundMandatory), MaxAge(options));
        var text = policy.ToText();
        return new HostedMtaStsPolicy(domain, policy, text, IdOf(text));
    }

    /// <summary>
    /// The MX names a sender may deliver the domain's mail to: the secure MX host first; the ordinary MX
    /// (hostname) next to it when the domain's inbound TLS is not mandatory and listeners.mx is on.
    /// </summary>
    public static IReadOnlyList<string> MxNames(SecureMxOptions options, bool inboundMandatory)
    {
        var secure = options.EffectiveSecureMxHostname().TrimEnd('.').ToLowerInvariant();
        var ordinary = options.Hostname.TrimEnd('.').ToLowerInvariant();
        bool mxOn = !string.Equals(options.Listeners.Mx, Endpoint.Off, StringComparison.OrdinalIgnoreCase);
        return inboundMandatory || !mxOn || ordinary == secure ? [secure] : [secure, ordinary];
    }

    /// <summary>mtaSts.maxAge in whole seconds, capped at RFC 8461's longest (validated at start).</summary>
    public static TimeSpan MaxAge(SecureMxOptions options)
    {
        var value = Duration.Parse(options.MtaSts.MaxAge, "mtaSts.maxAge");
        var seconds = Math.Clamp((long)value.TotalSeconds, 1, (long)MtaStsPolicy.LongestMaxAge.TotalSeconds);
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>The id for a policy text: 32 lower-case hex digits of its SHA-256.</summary>
    public static string IdOf(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    /// <summary>The "_mta-sts" TXT record that announces this policy.</summary>
    public MtaStsTxtRecord TxtRecord => new(Id);
}
