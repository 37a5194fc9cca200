using System.Globalization;
using System.Text;

namespace SecureMx.Mail;

/// <summary>
/// A mailbox from an SMTP envelope (RFC 5321 §4.1.2 "Mailbox"), after syntax checks.
/// <see cref="LocalPart"/> is the unquoted local part; <see cref="Domain"/> is lower-case ASCII
/// (IDNA A-labels) or an address literal in brackets.
/// </summary>
public sealed record EnvelopeAddress(string LocalPart, string Domain, bool IsAddressLiteral)
{
    /// <summary>The null reverse-path &lt;&gt;.</summary>
    public static readonly EnvelopeAddress Null = new("", "", false);

    public bool IsNull => LocalPart.Length == 0 && Domain.Length == 0;

    /// <summary>True when the local part needs quoting to be written as a Dot-string.</summary>
    public bool LocalPartNeedsQuotes => !SmtpAddressParser.IsDotString(LocalPart, allowUtf8: true);

    public bool IsAscii => Ascii.IsValid(LocalPart) && Ascii.IsValid(Domain);

    /// <summary>The address as written in a path, quoting the local part when needed.</summary>
    public override string ToString()
    {
        if (IsNull) return "";
        var local = LocalPartNeedsQuotes ? Quote(LocalPart) : LocalPart;
        return local + "@" + Domain;
    }

    /// <summary>Key used to look the address up in the store: local part lower-cased (ASCII letters only).</summary>
    public string LookupKey => IsNull ? "" : LocalPart.ToLowerInvariant() + "@" + Domain;

    private static string Quote(string local)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in local)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Domain in lower-case A-label form; null when the text is not a valid domain.</summary>
    public static string? NormalizeDomain(string domain)
    {
        if (domain.Length == 0 || domain.Length > 253) return null;
        try
        {
            var ascii = Ascii.IsValid(domain) ? domain : new IdnMapping { UseStd3AsciiRules = true }.GetAscii(domain);
            ascii = ascii.ToLowerInvariant();
            return SmtpAddressParser.IsAsciiDomain(ascii) ? ascii : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
