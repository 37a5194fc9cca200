using System.Globalization;

namespace SecureMx.Config;

/// <summary>
/// Durations in securemx.json as administrators write them (Postfix style): "30s", "5m", "1h",
/// "5d" (and "200ms"), or a plain number of seconds. Seconds-scale values exist so that end-to-end tests of a
/// running server can reach the delay warning and the expiry without waiting hours.
/// </summary>
public static class Duration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase))
        {
            if (!double.TryParse(text[..^2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var ms) || ms < 0) return false;
            value = TimeSpan.FromMilliseconds(ms);
            return true;
        }
        var unit = char.ToLowerInvariant(text[^1]);
        var number = char.IsAsciiDigit(unit) ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        value = unit switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            'w' => TimeSpan.FromDays(7 * n),
            _ when char.IsAsciiDigit(unit) => TimeSpan.FromSeconds(n),
            _ => TimeSpan.MinValue,
        };
        return value != TimeSpan.MinValue;
    }

    public static TimeSpan Parse(string text, string key) =>
        TryParse(text, out var v) ? v : throw new FormatException($"{key}: '{text}' is not a duration (e.g. 30s, 5m, 1h, 5d)");

    /// <summary>Compact form for logs and the CLI: "5m", "1h30m", "2d".</summary>
    public static string Format(TimeSpan t)
    {
        if (t < TimeSpan.Zero) return "-" + Format(-t);
        if (t.TotalSeconds < 60) return $"{(int)t.TotalSeconds}s";
        if (t.TotalMinutes < 60) return $"{(int)t.TotalMinutes}m";
        if (t.TotalHours < 48) return t.Minutes == 0 ? $"{(int)t.TotalHours}h" : $"{(int)t.TotalHours}h{t.Minutes}m";
        return $"{(int)t.TotalDays}d";
    }
}
