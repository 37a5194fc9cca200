using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SecureMx.MailAuth.Spf;

/// <summary>
/// A macro-string (RFC 7208 §7.1): literal characters and macros (<c>%{s}</c>, <c>%{ir}</c>,
/// <c>%{d2}</c>, <c>%{l-}</c>, <c>%%</c>, <c>%_</c>, <c>%-</c>), checked when the record is read,
/// expanded (§7.3) when a term is evaluated.
/// </summary>
public sealed partial class SpfMacroString
{
    private readonly string _text;

    private SpfMacroString(string text, bool endsInMacro)
    {
        _text = text;
        EndsInMacro = endsInMacro;
    }

    /// <summary>Whether the last token is a macro (a domain-spec may end in one instead of a top label, §7.1).</summary>
    public bool EndsInMacro { get; }

    /// <summary>Whether the text has any macro at all.</summary>
    public bool HasMacros => _text.Contains('%', StringComparison.Ordinal);

    /// <summary>The macro-string as written.</summary>
    public override string ToString() => _text;

    [GeneratedRegex(@"\G%\{([slodiphcrtv])([0-9]*)(r?)([.\-+,/_=]*)\}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Macro();

    /// <summary>Reads a macro-string; null when its syntax is wrong. <paramref name="forExplanation"/>: c, r and t are only allowed in an explanation (§7.1).</summary>
    public static SpfMacroString? Parse(string text, bool forExplanation = false)
    {
        bool endsInMacro = false;
        for (int i = 0; i < text.Length;)
        {
            char ch = text[i];
            if (ch == '%')
            {
                if (i + 1 < text.Length && text[i + 1] is '%' or '_' or '-')
                {
                    i += 2;
                    endsInMacro = true;
                    continue;
                }
                var m = Macro().Match(text, i);
                if (!m.Success) return null;
                if (!forExplanation && char.ToLowerInvariant(m.Groups[1].Value[0]) is 'c' or 'r' or 't') return null;
                if (m.Groups[2].Value is { Length: > 0 } digits && (digits.Length > 3 || int.Parse(digits, CultureInfo.InvariantCulture) == 0)) return null;
                i += m.Length;
                endsInMacro = true;
                continue;
            }
            // macro-literal = %x21-24 / %x26-7E; an explanation's text may also hold spaces (§6.2 "explain-string").
            if (!(ch is >= '\x21' and <= '\x7e' || (forExplanation && ch == ' '))) return null;
            endsInMacro = false;
            i++;
        }
        return new SpfMacroString(text, endsInMacro);
    }

    [GeneratedRegex(@"^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TopLabel();

    /// <summary>
    /// A domain-spec (§7.1): a macro-string that ends in a macro or in "." toplabel ["."] — so "foo-bar"
    /// (no dot) or "example.123" are syntax errors. Null when it is not one.
    /// </summary>
    public static SpfMacroString? ParseDomainSpec(string text)
    {
        if (Parse(text) is not { } spec) return null;
        if (spec.EndsInMacro) return spec;
        var tail = text.EndsWith('.') ? text[..^1] : text;
        int dot = tail.LastIndexOf('.');
        if (dot < 0) return null;
        var top = tail[(dot + 1)..];
        return top.Contains('%', StringComparison.Ordinal) || !TopLabel().IsMatch(top) ? null : spec;
    }

    /// <summary>Expands the macros (§7.3); <paramref name="values"/> supplies each letter's value.</summary>
    public async Task<string> ExpandAsync(Func<char, Task<string>> values)
    {
        if (!HasMacros) return _text;
        var sb = new StringBuilder(_text.Length + 32);
        for (int i = 0; i < _text.Length;)
        {
            if (_text[i] != '%')
            {
                sb.Append(_text[i++]);
                continue;
            }
            switch (_text[i + 1])
            {
                case '%': sb.Append('%'); i += 2; continue;
                case '_': sb.Append(' '); i += 2; continue;
                case '-': sb.Append("%20"); i += 2; continue;
            }
            var m = Macro().Match(_text, i);
            i += m.Length;
            char letter = m.Groups[1].Value[0];
            var value = await values(char.ToLowerInvariant(letter)).ConfigureAwait(false);
            var delimiters = m.Groups[4].Value.Length == 0 ? ['.'] : m.Groups[4].Value.ToCharArray();
            var parts = value.Split(delimiters);
            if (m.Groups[3].Value.Length > 0) Array.Reverse(parts);
            if (m.Groups[2].Value.Length > 0)
            {
                int keep = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                if (keep < parts.Length) parts = parts[^keep..];
            }
            var expanded = string.Join('.', parts);
            // An uppercase macro letter asks for URL escaping (§7.3, RFC 3986 unreserved characters stay).
            sb.Append(char.IsUpper(letter) ? Uri.EscapeDataString(expanded) : expanded);
        }
        return sb.ToString();
    }

    /// <summary>A domain name longer than 253 characters loses labels on the left until it fits (§7.3).</summary>
    public static string Truncate(string domain)
    {
        while (domain.TrimEnd('.').Length > 253)
        {
            int dot = domain.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0) break;
            domain = domain[(dot + 1)..];
        }
        return domain;
    }
}
