using System.IO.Compression;
using System.Text;

namespace SecureMx.TestKit;

/// <summary>
/// TLS reports as senders send them (RFC 8460 §4.4, §5.3), about <see cref="Domain"/>: the JSON files in TlsReports/
/// (a Google-like gzip report, a Microsoft-like report with two policies, the RFC's own example for an HTTPS POST), with
/// their date-range moved to a given day, and the mails that carry them.
/// </summary>
public static class TlsReportSamples
{
    /// <summary>The policy-domain of every sample.</summary>
    public const string Domain = "company-y.example";

    /// <summary>The day the files' date-range names.</summary>
    public static readonly DateTimeOffset FileDay = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

    public const string Google = "google-like";
    public const string Microsoft = "microsoft-like";
    public const string RfcExample = "https-rfc-example";

    /// <summary>The sample's JSON, its date-range on <paramref name="day"/> (00:00 UTC) instead of <see cref="FileDay"/>, its policy-domain <paramref name="domain"/>.</summary>
    public static byte[] Json(string name, DateTimeOffset? day = null, string domain = Domain)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TlsReports", name + ".json"));
        var d = (day ?? FileDay).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes(text.Replace("2026-12-04", d).Replace(Domain, domain));
    }

    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(data);
        return buffer.ToArray();
    }

    /// <summary>
    /// A report mail as Google sends it (RFC 8460 §5.3): multipart/report; report-type=tlsrpt, a text part, and the
    /// report gzip'd as application/tlsrpt+gzip named sender!domain!begin!end!id.json.gz.
    /// </summary>
    public static string GoogleMail(string to, DateTimeOffset? day = null, string domain = Domain)
    {
        var start = (day ?? FileDay).ToUnixTimeSeconds();
        var file = $"google.com!{domain}!{start}!{start + 86399}!001.json.gz";
        return Mail("noreply-smtp-tls-reporting@google.com", to, domain, "google.com", "<" + start + "+" + domain + "@google.com>",
            "application/tlsrpt+gzip", file, Gzip(Json(Google, day, domain)));
    }

    /// <summary>A report mail in the style of Microsoft's: the report as a plain .json attachment.</summary>
    public static string MicrosoftMail(string to, DateTimeOffset? day = null, string domain = Domain)
    {
        var start = (day ?? FileDay).ToUnixTimeSeconds();
        var file = $"microsoft.com!{domain}!{start}!{start + 86399}.json";
        return Mail("tlsrpt-noreply@microsoft.com", to, domain, "microsoft.com", "<133779648000000000+" + domain + "@microsoft.com>",
            "application/json", file, Json(Microsoft, day, domain));
    }

    /// <summary>A report mail whose attachment is <paramref name="attachment"/> as it is (the hostile cases).</summary>
    public static string Mail(string from, string to, string domain, string submitter, string reportId, string contentType, string fileName, byte[] attachment)
    {
        var b64 = Convert.ToBase64String(attachment, Base64FormattingOptions.InsertLineBreaks);
        return $"""
            From: {from}
            To: {to}
            Subject: Report Domain: {domain} Submitter: {submitter} Report-ID: {reportId}
            Date: Sat, 05 Dec 2026 00:10:00 +0000
            Message-ID: <tlsrpt-{Guid.NewGuid():N}@{submitter}>
            TLS-Report-Domain: {domain}
            TLS-Report-Submitter: {submitter}
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type="tlsrpt"; boundary="=_b"

            --=_b
            Content-Type: text/plain; charset="us-ascii"

            This is an aggregate TLS report from {submitter}

            --=_b
            Content-Type: {contentType}; name="{fileName}"
            Content-Disposition: attachment; filename="{fileName}"
            Content-Transfer-Encoding: base64

            {b64}
            --=_b--

            """.ReplaceLineEndings("\r\n");
    }
}
