using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureMx.Dkim;

/// <summary>
/// Selector names (RFC 6376 §3.1: one or more DNS labels). The default is dated and says the key kind,
/// <c>sYYYYMMDD-rsa</c> / <c>sYYYYMMDD-ed</c>, so a rotation never reuses a name a receiver may still
/// have cached, and keys of both kinds made the same day differ; a second key of a kind on the same day
/// gets a letter (<c>s20261206b-rsa</c>).
/// </summary>
public static partial class DkimSelector
{
    [GeneratedRegex("^(?!-)[a-z0-9-]{1,63}(?<!-)(\\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")]
    private static partial Regex Labels();

    /// <summary>The selector in lower case, or null when it is not one or more LDH labels (at most 200 octets: the record name must fit).</summary>
    public static string? Normalize(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        return s.Length is > 0 and <= 200 && Labels().IsMatch(s) ? s : null;
    }

    /// <summary>The first dated default selector for <paramref name="algorithm"/> on <paramref name="day"/> not in <paramref name="taken"/>.</summary>
    public static string Default(DateTimeOffset day, DkimAlgorithm algorithm, IReadOnlySet<string> taken)
    {
        var date = day.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        for (char letter = 'a'; letter <= 'z'; letter++)
        {
            var name = $"s{date}{(letter == 'a' ? "" : letter.ToString())}-{algorithm.SelectorSuffix()}";
            if (!taken.Contains(name)) return name;
        }
        throw new InvalidOperationException($"26 selectors of {algorithm.Name()} made on {date} already: name the next one with --selector");
    }
}
