using System.Text;
using System.Text.RegularExpressions;
using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;

namespace SecureMx.MailAuth;

/// <summary>
/// Writes the Authentication-Results header field (RFC 8601 §2.2) with our host name as authserv-id:
/// spf with smtp.mailfrom (smtp.helo for the null reverse-path, RFC 7208 §2.4), dkim for each checked
/// signature with header.d and header.s (dkim=none without one), dmarc with header.from and the
/// domain's policy in a comment, as OpenDMARC writes it. One method a line, folded with a tab.
/// </summary>
public static partial class AuthenticationResultsHeader
{
    public const string FieldName = "Authentication-Results";

    public static string Build(string authservId, string? mailFrom, string helo, SpfVerdict spf, IReadOnlyList<DkimSignatureResult> dkim, DmarcVerdict dmarc)
    {
        var sb = new StringBuilder(256);
        sb.Append(FieldName).Append(": ").Append(authservId).Append(";\r\n\tspf=").Append(spf.Result.Name());
        if (string.IsNullOrEmpty(mailFrom)) sb.Append(" smtp.helo=").Append(Value(helo));
        else sb.Append(" smtp.mailfrom=").Append(Address(mailFrom));
        if (dkim.Count == 0) sb.Append(";\r\n\tdkim=none");
        foreach (var d in dkim)
        {
            sb.Append(";\r\n\tdkim=").Append(d.Name);
            if (d.Domain is not null) sb.Append(" header.d=").Append(Value(d.Domain));
            if (d.Selector is not null) sb.Append(" header.s=").Append(Value(d.Selector));
        }
        sb.Append(";\r\n\tdmarc=").Append(dmarc.Name);
        if (dmarc.Policy is { } p) sb.Append(" (p=").Append(p.ToString().ToLowerInvariant()).Append(" dis=").Append((dmarc.Disposition ?? DmarcPolicy.None).ToString().ToLowerInvariant()).Append(')');
        if (dmarc.FromDomain is not null) sb.Append(" header.from=").Append(Value(dmarc.FromDomain));
        sb.Append("\r\n");
        return sb.ToString();
    }

    /// <summary>The short form for the session and delivery logs: "spf=pass dkim=pass dmarc=pass".</summary>
    public static string Summary(SpfVerdict spf, IReadOnlyList<DkimSignatureResult> dkim, DmarcVerdict dmarc) =>
        $"spf={spf.Result.Name()} dkim={(dkim.Count == 0 ? "none" : string.Join(',', dkim.Select(d => d.Name)))} dmarc={dmarc.Name}";

    [GeneratedRegex(@"^\t(spf|dkim|dmarc)=([a-z]+)", RegexOptions.Multiline)]
    private static partial Regex MethodResult();

    /// <summary>The log form ("spf=pass dkim=pass dmarc=pass") of a field <see cref="Build"/> wrote, for the delivery log line.</summary>
    public static string SummaryOf(string field)
    {
        var results = MethodResult().Matches(field).Select(m => (Method: m.Groups[1].Value, Result: m.Groups[2].Value)).ToList();
        return string.Join(' ', results.GroupBy(r => r.Method).Select(g => $"{g.Key}={string.Join(',', g.Select(r => r.Result))}"));
    }

    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$")]
    private static partial Regex Token();

    /// <summary>
    /// A property value (RFC 8601 §2.2 pvalue): as it is when it is a token-like name, else a quoted-string
    /// with backslash escapes; control characters become "?" (the values come from the client and DNS).
    /// </summary>
    public static string Value(string value) => Token().IsMatch(value) ? value : Quote(value);

    private static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var ch in value)
        {
            if (ch is '"' or '\\') sb.Append('\\').Append(ch);
            else sb.Append(ch < ' ' || ch == '\x7f' ? '?' : ch);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>An address as pvalue: local-part "@" domain, with the local-part quoted when it is not a dot-atom.</summary>
    private static string Address(string address)
    {
        int at = address.LastIndexOf('@');
        if (at <= 0) return Value(address);
        var local = address[..at];
        var domain = address[(at + 1)..];
        bool dotAtom = Token().IsMatch(local) && !local.StartsWith('.') && !local.EndsWith('.') && !local.Contains("..", StringComparison.Ordinal);
        var localText = dotAtom ? local : Quote(local);
        return localText + "@" + (Token().IsMatch(domain) ? domain : Value(domain));
    }
}
