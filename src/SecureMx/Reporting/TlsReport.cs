using System.IO.Compression;
using System.Text.Json;
using SecureMx.Store;

namespace SecureMx.Reporting;

/// <summary>
/// One aggregate TLS report (RFC 8460 §4): the sessions of one UTC day to one recipient domain, per
/// policy, with the failures grouped by result type and hosts. Built from the day's counted sessions
/// (<see cref="TlsSessionRepository"/>); written as the RFC's JSON (§4.4), gzip'd for sending (§5).
/// </summary>
public sealed record TlsReport(
    string OrganizationName,
    string ContactInfo,
    string ReportId,
    string PolicyDomain,
    DateTimeOffset Start,
    DateTimeOffset End,
    IReadOnlyList<TlsReportPolicy> Policies)
{
    /// <summary>
    /// The report of <paramref name="policyDomain"/> for the day <paramref name="day"/> (00:00 UTC) from its counts.
    /// The report-id names the day, the domain and the submitter, so the same report sent again is recognisably the same.
    /// </summary>
    public static TlsReport Build(string organizationName, string contactInfo, string submitter, string policyDomain, DateTimeOffset day,
        IReadOnlyList<TlsSessionCount> counts)
    {
        var policies = counts
            .GroupBy(c => (c.PolicyType, c.PolicyString, c.MxHost))
            .Select(g => new TlsReportPolicy(
                g.Key.PolicyType,
                Lines(g.Key.PolicyString),
                Lines(g.Key.MxHost),
                g.Where(c => c.Successful).Sum(c => c.Sessions),
                g.Where(c => !c.Successful).Sum(c => c.Sessions),
                g.Where(c => !c.Successful)
                    .GroupBy(c => (c.ResultType, c.SendingIp, c.ReceivingMx, c.ReceivingIp))
                    .Select(f => new TlsReportFailure(f.Key.ResultType, Empty(f.Key.SendingIp), Empty(f.Key.ReceivingMx), Empty(f.Key.ReceivingIp),
                        f.Sum(c => c.Sessions), f.Select(c => c.Detail).LastOrDefault(d => d is not null)))
                    .OrderBy(f => f.ResultType, StringComparer.Ordinal).ThenBy(f => f.ReceivingMx, StringComparer.Ordinal)
                    .ToList()))
            .OrderBy(p => p.PolicyType, StringComparer.Ordinal)
            .ToList();
        var reportId = $"{day.UtcDateTime:yyyy-MM-dd}_{policyDomain}@{submitter}";
        return new TlsReport(organizationName, contactInfo, reportId, policyDomain, day, day.AddDays(1).AddSeconds(-1), policies);
    }

    /// <summary>The report as RFC 8460 §4.4 JSON (UTF-8).</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("organization-name", OrganizationName);
            w.WriteStartObject("date-range");
            w.WriteString("start-datetime", Start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("end-datetime", End.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteString("contact-info", ContactInfo);
            w.WriteString("report-id", ReportId);
            w.WriteStartArray("policies");
            foreach (var p in Policies) p.WriteTo(w, PolicyDomain);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The JSON gzip'd (RFC 8460 §5: "application/tlsrpt+gzip").</summary>
    public byte[] ToGzip()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(ToJson());
        return buffer.ToArray();
    }

    /// <summary>
    /// The attachment's file name (RFC 8460 §5.1): submitter!policy-domain!begin!end.json.gz, the times
    /// in seconds since the epoch.
    /// </summary>
    public string FileName(string submitter) =>
        $"{submitter}!{PolicyDomain}!{Start.ToUnixTimeSeconds()}!{End.ToUnixTimeSeconds()}.json.gz";

    private static IReadOnlyList<string> Lines(string joined) => joined.Length == 0 ? [] : joined.Split('\n');

    private static string? Empty(string s) => s.Length == 0 ? null : s;
}
