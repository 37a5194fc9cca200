using System.Globalization;
using System.Text;

namespace SecureMx.MtaSts;

/// <summary>
/// An MTA-STS policy (RFC 8461 §3.2): mode, the MX patterns mail may go to, and how long a sender
/// may cache it. <see cref="Parse"/> reads the text served at
/// <c>https://mta-sts.DOMAIN/.well-known/mta-sts.txt</c>; <see cref="ToText"/> writes one (the hosted side).
/// </summary>
public sealed record MtaStsPolicy(MtaStsMode Mode, IReadOnlyList<string> Mx, TimeSpan MaxAge)
{
    /// <summary>RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year); larger values are capped.</summary>
    public static readonly TimeSpan LongestMaxAge = TimeSpan.FromSeconds(31_557_600);

    /// <summary>RFC 8461 §3.3: senders may limit the policy body; 64 KiB is far above any real policy.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>
    /// Whether an MX host name matches one of the patterns (RFC 8461 §4.1): equal ignoring case and a
    /// trailing dot, or "*.example.com", which matches exactly one more label on the left
    /// ("mx1.example.com", not "example.com" nor "a.b.example.com").
    /// </summary>
    public bool AllowsMx(string host) => Mx.Any(pattern => MxMatches(pattern, host));

    public static bool MxMatches(string pattern, string host)
    {
        pattern = pattern.TrimEnd('.');
        host = host.TrimEnd('.');
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            int dot = host.IndexOf('.');
            return dot > 0 && string.Equals(host[(dot + 1)..], pattern[2..], StringComparison.OrdinalIgnoreCase);
        }
        return string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The policy as served: CRLF lines (RFC 8461 §3.2), one "mx:" line per pattern.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.Append("version: STSv1\r\n");
        text.Append("mode: ").Append(Mode.Name()).Append("\r\n");
        foreach (var mx in Mx) text.Append("mx: ").Append(mx).Append("\r\n");
        text.Append("max_age: ").Append(((long)MaxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        return text.ToString();
    }

    /// <summary>
    /// Reads a policy body (RFC 8461 §3.2): "key: value" lines ending in LF or CRLF; <c>version: STSv1</c>,
    /// <c>mode</c> and <c>max_age</c> are required, and at least one <c>mx</c> unless the mode is none;
    /// unknown keys are ignored (extensions). Returns the policy, or why it is not one (the
    /// "sts-policy-invalid" of RFC 8460 §4.3.2).
    /// </summary>
    public static (MtaStsPolicy? Policy, string? Error) Parse(string text)
    {
        string? version = null, mode = null, maxAge = null;
        var mx = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) return (null, $"not a \"key: value\" line: {Shorten(line)}");
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "version": version ??= value; break;
                case "mode": mode ??= value; break;
                case "max_age": maxAge ??= value; break;
                case "mx": mx.Add(value); break;
            }
        }
        if (version != "STSv1") return (null, version is null ? "no version field" : $"version {Shorten(version)} is not STSv1");
        if (!MtaStsModes.TryParse(mode, out var m)) return (null, mode is null ? "no mode field" : $"mode {Shorten(mode)} is not one of {MtaStsModes.AllNames}");
        if (maxAge is null || maxAge.Length is 0 or > 10 || !maxAge.All(char.IsAsciiDigit)) return (null, maxAge is null ? "no max_age field" : $"max_age {Shorten(maxAge)} is not a number of seconds");
        var seconds = Math.Min(long.Parse(maxAge, CultureInfo.InvariantCulture), (long)LongestMaxAge.TotalSeconds);
        foreach (var pattern in mx)
        {
            if (!IsMxPattern(pattern)) return (null, $"mx {Shorten(pattern)} is not a host name or *.domain pattern");
        }
        if (mx.Count == 0 && m != MtaStsMode.None) return (null, "no mx field");
        return (new MtaStsPolicy(m, mx, TimeSpan.FromSeconds(seconds)), null);
    }

    private static bool IsMxPattern(string pattern)
    {
        var name = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
        name = name.TrimEnd('.');
        return name.Length is > 0 and <= 253 && name.Split('.').All(label =>
            label.Length is > 0 and <= 63 && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && label[0] != '-' && label[^1] != '-');
    }

    private static string Shorten(string s) => s.Length <= 60 ? $"'{s}'" : $"'{s[..60]}…'";
}
