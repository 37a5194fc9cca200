namespace SecureMx.MailAuth.Dmarc;

/// <summary>
/// The Public Suffix List (publicsuffix.org; Debian package <c>publicsuffix</c>, file
/// <see cref="DefaultPath"/>), for the organizational domain of RFC 7489 §3.2: the public suffix of a
/// name plus one label. Rules: plain, wildcard ("*.ck") and exception ("!www.ck"); the implicit rule "*"
/// when none matches. Without the file (<see cref="Fallback"/>) the last two labels are taken, which is
/// right for most domains and wrong under suffixes like co.uk: relaxed alignment there is then too strict,
/// never too loose, except where an owner publishes under a shared suffix.
/// </summary>
public sealed class PublicSuffixList
{
    /// <summary>Where Debian's <c>publicsuffix</c> package puts the list.</summary>
    public const string DefaultPath = "/usr/share/publicsuffix/public_suffix_list.dat";

    private readonly HashSet<string> _rules;
    private readonly HashSet<string> _wildcards;
    private readonly HashSet<string> _exceptions;

    private PublicSuffixList(HashSet<string> rules, HashSet<string> wildcards, HashSet<string> exceptions, bool loaded)
    {
        _rules = rules;
        _wildcards = wildcards;
        _exceptions = exceptions;
        IsLoaded = loaded;
    }

    /// <summary>False for <see cref="Fallback"/>: the list was not there, the last two labels are used.</summary>
    public bool IsLoaded { get; }

    /// <summary>No list: every name's organizational domain is its last two labels.</summary>
    public static PublicSuffixList Fallback { get; } = new([], [], [], false);

    /// <summary>Reads the list in its published format (one rule a line, "//" comments).</summary>
    public static PublicSuffixList Parse(IEnumerable<string> lines)
    {
        HashSet<string> rules = new(StringComparer.OrdinalIgnoreCase), wildcards = new(StringComparer.OrdinalIgnoreCase), exceptions = new(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal)) continue;
            int space = line.IndexOfAny([' ', '\t']);
            if (space > 0) line = line[..space];
            line = ToAscii(line);
            if (line.StartsWith("!", StringComparison.Ordinal)) exceptions.Add(line[1..]);
            else if (line.StartsWith("*.", StringComparison.Ordinal)) wildcards.Add(line[2..]);
            else rules.Add(line);
        }
        return new PublicSuffixList(rules, wildcards, exceptions, true);
    }

    /// <summary>The list from a file; <see cref="Fallback"/> when it is missing or unreadable (the caller logs that).</summary>
    public static PublicSuffixList Load(string path, out string? problem)
    {
        try
        {
            problem = null;
            return Parse(File.ReadLines(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"public suffix list {path} cannot be read ({e.Message}): organizational domains are the last two labels";
            return Fallback;
        }
    }

    /// <summary>The organizational domain of a name (RFC 7489 §3.2), lower-case, ASCII (A-labels).</summary>
    public string OrganizationalDomain(string domain)
    {
        var labels = ToAscii(domain.TrimEnd('.')).ToLowerInvariant().Split('.');
        if (labels.Length <= 1) return string.Join('.', labels);
        int suffixLabels = 1; // the implicit rule "*"
        if (IsLoaded)
        {
            for (int i = 0; i < labels.Length; i++)
            {
                var candidate = string.Join('.', labels[i..]);
                int n = labels.Length - i;
                if (_exceptions.Contains(candidate)) { suffixLabels = n - 1; break; } // an exception rule wins over every other
                if (_rules.Contains(candidate)) suffixLabels = Math.Max(suffixLabels, n);
                if (i + 1 < labels.Length && _wildcards.Contains(string.Join('.', labels[(i + 1)..]))) suffixLabels = Math.Max(suffixLabels, n);
            }
        }
        int keep = Math.Min(labels.Length, suffixLabels + 1);
        return string.Join('.', labels[^keep..]);
    }

    private static string ToAscii(string name)
    {
        try
        {
            return name.All(char.IsAscii) ? name : new System.Globalization.IdnMapping().GetAscii(name);
        }
        catch (ArgumentException)
        {
            return name;
        }
    }
}
