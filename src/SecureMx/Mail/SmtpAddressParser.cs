using System.Net;
using System.Text;

namespace SecureMx.Mail;

/// <summary>
/// Parses reverse-path and forward-path per RFC 5321 §4.1.2 (with RFC 6531 §3.3 UTF-8 extensions).
/// Strict on purpose: everything that could smuggle a second address past the relay check
/// (control characters, trailing dots, unbalanced quotes) is a syntax error, never "fixed up".
/// </summary>
public static class SmtpAddressParser
{
    public const int MaxLocalPartOctets = 64;   // RFC 5321 §4.5.3.1.1
    public const int MaxDomainOctets = 255;     // RFC 5321 §4.5.3.1.2
    public const int MaxPathOctets = 256;       // RFC 5321 §4.5.3.1.3

    public enum Error { None, Syntax, NonAscii, TooLong }

    /// <summary>
    /// Parses "&lt;...&gt;" at the start of <paramref name="text"/>; returns the rest after the closing bracket.
    /// Source routes ("@a,@b:") are accepted and ignored (RFC 5321 §4.1.1.3, Appendix C).
    /// </summary>
    public static Error TryParsePath(string text, bool allowNull, bool allowUtf8, out EnvelopeAddress address, out string rest)
    {
        address = EnvelopeAddress.Null;
        rest = "";
        if (text.Length == 0 || text[0] != '<') return Error.Syntax;
        int close = FindClosingBracket(text);
        if (close < 0) return Error.Syntax;
        var inner = text.Substring(1, close - 1);
        rest = text.Substring(close + 1);
        if (Encoding.UTF8.GetByteCount(inner) > MaxPathOctets - 2) return Error.TooLong; // the limit counts "<" and ">"
        if (inner.Length == 0) return allowNull ? Error.None : Error.Syntax;

        if (inner[0] == '@')
        {
            // A-d-l ":" Mailbox — validate the route's domains, then drop them.
            int colon = inner.IndexOf(':');
            if (colon < 0) return Error.Syntax;
            foreach (var hop in inner.Substring(0, colon).Split(','))
            {
                if (hop.Length < 2 || hop[0] != '@' || !IsDomainSyntax(hop.Substring(1), allowUtf8)) return Error.Syntax;
            }
            inner = inner.Substring(colon + 1);
        }
        return TryParseMailbox(inner, allowUtf8, out address);
    }

    /// <summary>Parses a bare Mailbox (local-part "@" domain).</summary>
    public static Error TryParseMailbox(string text, bool allowUtf8, out EnvelopeAddress address)
    {
        address = EnvelopeAddress.Null;
        if (!allowUtf8 && !Ascii.IsValid(text))
        {
            return Error.NonAscii;
        }
        string local;
        int i;
        if (text.Length > 0 && text[0] == '"')
        {
            var sb = new StringBuilder();
            i = 1;
            while (true)
            {
                if (i >= text.Length) return Error.Syntax;
                char c = text[i];
                if (c == '"') { i++; break; }
                if (c == '\\')
                {
                    // quoted-pairSMTP = %d92 %d32-126
                    if (i + 1 >= text.Length) return Error.Syntax;
                    char n = text[i + 1];
                    if (n < 32 || n > 126) return Error.Syntax;
                    sb.Append(n);
                    i += 2;
                    continue;
                }
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
                if (c < 32 || c == 127 || (c > 127 && !allowUtf8)) return Error.Syntax;
                sb.Append(c);
                i++;
            }
            local = sb.ToString();
            if (local.Length == 0) return Error.Syntax;
        }
        else
        {
            int at = text.LastIndexOf('@');
            if (at <= 0) return Error.Syntax;
            local = text.Substring(0, at);
            if (!IsDotString(local, allowUtf8)) return Error.Syntax;
            i = at;
        }
        if (i >= text.Length || text[i] != '@') return Error.Syntax;
        var domainText = text.Substring(i + 1);
        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPartOctets) return Error.TooLong;

        if (domainText.StartsWith('['))
        {
            if (!IsAddressLiteral(domainText)) return Error.Syntax;
            address = new EnvelopeAddress(local, domainText.ToLowerInvariant(), IsAddressLiteral: true);
            return Error.None;
        }
        if (!IsDomainSyntax(domainText, allowUtf8)) return Error.Syntax;
        var domain = EnvelopeAddress.NormalizeDomain(domainText);
        if (domain is null) return Error.Syntax;
        address = new EnvelopeAddress(local, domain, IsAddressLiteral: false);
        return Error.None;
    }

    /// <summary>Index of the "&gt;" that closes the path opened at text[0] ("&gt;" inside a quoted local part does not count); -1 if none.</summary>
    public static int FindClosingBracket(string text)
    {
        bool quoted = false;
        for (int i = 1; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '\\') i++;
                else if (c == '"') quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == '>') return i;
            else if (c == '<') return -1;
        }
        return -1;
    }

    // atext (RFC 5322 §3.2.3) plus UTF8-non-ascii under SMTPUTF8.
    private static bool IsAtext(char c, bool allowUtf8) =>
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        "!#$%&'*+-/=?^_`{|}~".Contains(c) || (allowUtf8 && c > 127 && !char.IsControl(c) && !char.IsWhiteSpace(c));

    public static bool IsDotString(string s, bool allowUtf8)
    {
        if (s.Length == 0 || s[0] == '.' || s[^1] == '.') return false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '.')
            {
                if (s[i - 1] == '.') return false;
            }
            else if (!IsAtext(c, allowUtf8)) return false;
        }
        return true;
    }

    /// <summary>RFC 5321 Domain: sub-domain *("." sub-domain); no trailing dot; U-labels only under SMTPUTF8.</summary>
    public static bool IsDomainSyntax(string d, bool allowUtf8)
    {
        if (d.Length == 0 || Encoding.UTF8.GetByteCount(d) > MaxDomainOctets) return false;
        foreach (var label in d.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63) return false;
            if (label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
            {
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          (allowUtf8 && c > 127 && char.IsLetterOrDigit(c));
                if (!ok) return false;
            }
        }
        return true;
    }

    /// <summary>Lower-case ASCII LDH domain check (used after IDNA conversion).</summary>
    public static bool IsAsciiDomain(string d) => Ascii.IsValid(d) && IsDomainSyntax(d, allowUtf8: false);

    /// <summary>An address literal (RFC 5321 §4.1.3): <c>[192.0.2.1]</c> or <c>[IPv6:2001:db8::1]</c>.</summary>
    public static bool IsAddressLiteral(string s)
    {
        if (s.Length < 3 || s[0] != '[' || s[^1] != ']') return false;
        var inner = s[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.TryParse(inner[5..], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }
        var parts = inner.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p) <= 255);
    }
}
