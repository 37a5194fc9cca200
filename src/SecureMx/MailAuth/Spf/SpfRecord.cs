using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace SecureMx.MailAuth.Spf;

/// <summary>The mechanisms of RFC 7208 §5.</summary>
public enum SpfMechanismKind
{
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
}

/// <summary>
/// One directive (RFC 7208 §4.6.1): qualifier, mechanism, its domain-spec (null: the current
/// domain), its network for ip4/ip6, and the CIDR lengths for a/mx (null: the whole address).
/// </summary>
public sealed record SpfDirective(SpfResult Qualifier, SpfMechanismKind Kind, SpfMacroString? Domain, IPAddress? Network, int? Ip4Prefix, int? Ip6Prefix)
{
    /// <summary>Mechanisms that query DNS count towards the limit of 10 (§4.6.4).</summary>
    public bool CountsAsDnsLookup => Kind is SpfMechanismKind.Include or SpfMechanismKind.A or SpfMechanismKind.Mx or SpfMechanismKind.Ptr or SpfMechanismKind.Exists;
}

/// <summary>
/// A parsed SPF record (RFC 7208 §4.6, §12 ABNF): its directives in order and the redirect and exp
/// modifiers. Every syntax error anywhere in the record is found before evaluation starts (§4.6: the
/// whole record is a permerror, even after a matching mechanism).
/// </summary>
public sealed partial class SpfRecord
{
    private SpfRecord(IReadOnlyList<SpfDirective> directives, SpfMacroString? redirect, SpfMacroString? explanation)
    {
        Directives = directives;
        Redirect = redirect;
        Explanation = explanation;
    }

    public IReadOnlyList<SpfDirective> Directives { get; }

    /// <summary>redirect= (§6.1): used only when no mechanism matched.</summary>
    public SpfMacroString? Redirect { get; }

    /// <summary>exp= (§6.2): where the explanation of a "fail" is looked up.</summary>
    public SpfMacroString? Explanation { get; }

    /// <summary>"v=spf1" followed by a space or the end of the record (§4.5; the version is case-insensitive).</summary>
    public static bool IsSpfRecord(string txt) =>
        txt.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (txt.Length == 6 || txt[6] == ' ');

    [GeneratedRegex(@"^([a-z][a-z0-9_.\-]*)=(.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Modifier();

    [GeneratedRegex(@"^(?::(?<ds>.+?))?(?<c4>/(?:0|[1-9][0-9]?))?(?://(?<c6>0|[1-9][0-9]{0,2}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainAndDualCidr();

    [GeneratedRegex(@"^(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$", RegexOptions.CultureInvariant)]
    private static partial Regex Ip4Address();

    /// <summary>Reads a record that <see cref="IsSpfRecord"/> selected; on a syntax error null and what was wrong.</summary>
    public static SpfRecord? Parse(string txt, out string? problem)
    {
        problem = null;
        // SPF records are 7-bit ASCII text; terms are separated by spaces only (§3.1, §4.6.1).
        foreach (var ch in txt)
        {
            if (ch is < ' ' or > '~')
            {
                problem = "the record has a character that is not printable ASCII";
                return null;
            }
        }
        var directives = new List<SpfDirective>();
        SpfMacroString? redirect = null, exp = null;
        foreach (var term in txt[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Modifier().Match(term) is { Success: true } mod)
            {
                var name = mod.Groups[1].Value.ToLowerInvariant();
                var value = mod.Groups[2].Value;
                if (name is "redirect" or "exp")
                {
                    if ((name == "redirect" ? redirect : exp) is not null) { problem = $"{name}= appears twice"; return null; }
                    var spec = SpfMacroString.ParseDomainSpec(value);
                    if (spec is null) { problem = $"{name}={value} is not a domain-spec"; return null; }
                    if (name == "redirect") redirect = spec; else exp = spec;
                }
                else if (SpfMacroString.Parse(value) is null)
                {
                    problem = $"modifier {term} has a bad macro-string";
                    return null;
                }
                continue;
            }
            var directive = ParseDirective(term);
            if (directive is null) { problem = $"\"{term}\" is not a valid mechanism"; return null; }
            directives.Add(directive);
        }
        return new SpfRecord(directives, redirect, exp);
    }

    private static SpfDirective? ParseDirective(string term)
    {
        var qualifier = term[0] switch
        {
            '+' => SpfResult.Pass,
            '-' => SpfResult.Fail,
            '~' => SpfResult.SoftFail,
            '?' => SpfResult.Neutral,
            _ => (SpfResult?)null,
        };
        var body = qualifier is null ? term : term[1..];
        var q = qualifier ?? SpfResult.Pass;
        int end = body.IndexOfAny([':', '/']);
        var name = (end < 0 ? body : body[..end]).ToLowerInvariant();
        var rest = end < 0 ? "" : body[end..];
        switch (name)
        {
            case "all":
                return rest.Length == 0 ? new SpfDirective(q, SpfMechanismKind.All, null, null, null, null) : null;
            case "include" or "exists":
                if (!rest.StartsWith(':') || SpfMacroString.ParseDomainSpec(rest[1..]) is not { } target) return null;
                return new SpfDirective(q, name == "include" ? SpfMechanismKind.Include : SpfMechanismKind.Exists, target, null, null, null);
            case "ptr":
                if (rest.Length == 0) return new SpfDirective(q, SpfMechanismKind.Ptr, null, null, null, null);
                if (!rest.StartsWith(':') || SpfMacroString.ParseDomainSpec(rest[1..]) is not { } ptrTarget) return null;
                return new SpfDirective(q, SpfMechanismKind.Ptr, ptrTarget, null, null, null);
            case "a" or "mx":
            {
                var m = DomainAndDualCidr().Match(rest);
                if (!m.Success) return null;
                SpfMacroString? domain = null;
                if (m.Groups["ds"].Success && (domain = SpfMacroString.ParseDomainSpec(m.Groups["ds"].Value)) is null) return null;
                int? c4 = m.Groups["c4"].Success ? int.Parse(m.Groups["c4"].Value[1..], CultureInfo.InvariantCulture) : null;
                int? c6 = m.Groups["c6"].Success ? int.Parse(m.Groups["c6"].Value, CultureInfo.InvariantCulture) : null;
                if (c4 > 32 || c6 > 128) return null;
                return new SpfDirective(q, name == "a" ? SpfMechanismKind.A : SpfMechanismKind.Mx, domain, null, c4, c6);
            }
            case "ip4":
            {
                if (!rest.StartsWith(':')) return null;
                var (address, prefix) = SplitPrefix(rest[1..]);
                if (!Ip4Address().IsMatch(address) || !IPAddress.TryParse(address, out var ip)) return null;
                int? length = ParsePrefix(prefix, 32);
                if (prefix is not null && length is null) return null;
                return new SpfDirective(q, SpfMechanismKind.Ip4, null, ip, length ?? 32, null);
            }
            case "ip6":
            {
                if (!rest.StartsWith(':')) return null;
                var (address, prefix) = SplitPrefix(rest[1..]);
                if (!address.Contains(':', StringComparison.Ordinal) || address.Contains('%', StringComparison.Ordinal) ||
                    !IPAddress.TryParse(address, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6) return null;
                int? length = ParsePrefix(prefix, 128);
                if (prefix is not null && length is null) return null;
                return new SpfDirective(q, SpfMechanismKind.Ip6, null, ip, null, length ?? 128);
            }
            default:
                return null;
        }
    }

    private static (string Address, string? Prefix) SplitPrefix(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (text, null) : (text[..slash], text[(slash + 1)..]);
    }

    /// <summary>A CIDR length: digits without a leading zero, at most <paramref name="max"/> (§12 ip4-cidr-length / ip6-cidr-length).</summary>
    private static int? ParsePrefix(string? text, int max)
    {
        if (text is null || text.Length is 0 or > 3 || !text.All(char.IsAsciiDigit) || (text.Length > 1 && text[0] == '0')) return null;
        int value = int.Parse(text, CultureInfo.InvariantCulture);
        return value <= max ? value : null;
    }

    /// <summary>Whether <paramref name="address"/> lies in <paramref name="network"/>/<paramref name="prefix"/> (host bits of the network ignored).</summary>
    public static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily) return false;
        Span<byte> a = stackalloc byte[16], n = stackalloc byte[16];
        address.TryWriteBytes(a, out int length);
        network.TryWriteBytes(n, out _);
        for (int bit = 0; bit < prefix && bit < length * 8; bit += 8)
        {
            int bits = Math.Min(8, prefix - bit);
            int mask = 0xff << (8 - bits) & 0xff;
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) return false;
        }
        return true;
    }
}
