using SecureMx.Mail;

namespace SecureMx.Reporting;

/// <summary>
/// A recipient domain's TLS reporting policy, the "_smtp._tls.DOMAIN" TXT record (RFC 8460 §3):
/// <c>v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://reports.example.org/tlsrpt</c>. Only the
/// reporting URIs SecureMx can use are kept: <c>mailto:</c> addresses and <c>https:</c> URLs; others are
/// ignored (<see cref="Ignored"/> says which, for the log). Hostile records are bounded: a record longer
/// than <see cref="MaxRecordLength"/> is refused, at most <see cref="MaxUris"/> URIs are read.
/// </summary>
public sealed record TlsRptRecord(IReadOnlyList<string> MailTo, IReadOnlyList<Uri> Https, IReadOnlyList<string> Ignored)
{
    /// <summary>The longest record read; a TXT record of a domain that wants reports is a few hundred characters.</summary>
    public const int MaxRecordLength = 4096;

    /// <summary>The most reporting URIs used of one record; the rest are ignored (and named in <see cref="Ignored"/>).</summary>
    public const int MaxUris = 10;

    /// <summary>The longest URI read.</summary>
    public const int MaxUriLength = 1024;

    private const string Version = "v=TLSRPTv1";

    /// <summary>The owner name of the record for <paramref name="domain"/> (RFC 8460 §3).</summary>
    public static string OwnerName(string domain) => "_smtp._tls." + domain.TrimEnd('.');

    /// <summary>Whether any report can be sent: at least one usable URI.</summary>
    public bool HasUris => MailTo.Count + Https.Count > 0;

    /// <summary>
    /// The TLSRPT record among a name's TXT records (RFC 8460 §3): records that do not begin with
    /// "v=TLSRPTv1;" are discarded; if not exactly one is left, the domain does not implement TLSRPT.
    /// <see cref="Error"/> says why there is none when records were there, for the log.
    /// </summary>
    public static (TlsRptRecord? Record, string? Error) Select(IEnumerable<string> txtRecords)
    {
        var candidates = txtRecords.Where(BeginsWithVersion).Take(3).ToList();
        if (candidates.Count == 0) return (null, null);
        if (candidates.Count > 1) return (null, "more than one TXT record begins with v=TLSRPTv1 (exactly one is allowed)");
        return Parse(candidates[0]);
    }

    /// <summary>"v=TLSRPTv1" then the field delimiter (*WSP ";", RFC 8460 §3) — not "v=TLSRPTv10".</summary>
    private static bool BeginsWithVersion(string text)
    {
        if (!text.StartsWith(Version, StringComparison.Ordinal)) return false;
        var rest = text.AsSpan(Version.Length).TrimStart(" \t");
        return rest.Length > 0 && rest[0] == ';';
    }

    /// <summary>
    /// One record: fields separated by ';' (with optional white space), the version first, then
    /// <c>rua=</c> with comma-separated URIs (RFC 8460 §3). Unknown fields are ignored (§3: "unknown
    /// fields SHALL be ignored"); a field that is not key=value makes the record invalid.
    /// </summary>
    public static (TlsRptRecord? Record, string? Error) Parse(string text)
    {
        if (text.Length > MaxRecordLength) return (null, $"the record is {text.Length} characters long, more than the {MaxRecordLength} read");
        var fields = text.Split(';').Select(f => f.Trim(' ', '\t')).ToList();
        if (fields[0] != Version) return (null, "the record does not begin with v=TLSRPTv1");
        // A trailing delimiter is allowed ([field-delim] at the end), an empty field elsewhere is not.
        if (fields.Count > 1 && fields[^1].Length == 0) fields.RemoveAt(fields.Count - 1);
        string? rua = null;
        foreach (var field in fields.Skip(1))
        {
            int eq = field.IndexOf('=');
            if (eq <= 0) return (null, $"field '{Shorten(field)}' is not key=value");
            if (field[..eq] == "rua" && rua is null) rua = field[(eq + 1)..];
        }
        if (rua is null) return (null, "the record has no rua field");
        var mailTo = new List<string>();
        var https = new List<Uri>();
        var ignored = new List<string>();
        foreach (var raw in rua.Split(','))
        {
            var uri = raw.Trim(' ', '\t');
            if (uri.Length == 0) continue;
            if (mailTo.Count + https.Count >= MaxUris)
            {
                ignored.Add($"{Shorten(uri)} (more than {MaxUris} URIs)");
                continue;
            }
            if (uri.Length > MaxUriLength) ignored.Add($"{Shorten(uri)} (longer than {MaxUriLength} characters)");
            else if (uri.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
            {
                if (MailToAddress(uri) is { } address) mailTo.Add(address);
                else ignored.Add($"{Shorten(uri)} (not an address)");
            }
            else if (uri.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
            {
                if (Uri.TryCreate(uri, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps && url.Host.Length > 0 && url.UserInfo.Length == 0)
                    https.Add(url);
                else ignored.Add($"{Shorten(uri)} (not an https URL)");
            }
            else ignored.Add($"{Shorten(uri)} (neither mailto: nor https:)");
        }
        return (new TlsRptRecord(mailTo.Distinct(StringComparer.OrdinalIgnoreCase).ToList(), https.Distinct().ToList(), ignored), null);
    }

    /// <summary>
    /// The address of a mailto: URI (its query, e.g. "?subject=…", is dropped; %-escapes decoded: §3
    /// asks that commas in a URI be written %2C), checked as an SMTP mailbox; null when it is none.
    /// </summary>
    private static string? MailToAddress(string uri)
    {
        var to = uri["mailto:".Length..];
        int query = to.IndexOf('?');
        if (query >= 0) to = to[..query];
        try
        {
            to = Uri.UnescapeDataString(to);
        }
        catch (UriFormatException)
        {
            return null;
        }
        return SmtpAddressParser.TryParseMailbox(to, allowUtf8: true, out var address) == SmtpAddressParser.Error.None ? address.ToString() : null;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
