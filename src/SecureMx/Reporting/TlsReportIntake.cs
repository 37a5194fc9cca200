using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Reporting;

/// <summary>What became of one received TLS report.</summary>
public enum TlsReportIntakeResult
{
    /// <summary>Stored (at least one policy row was new).</summary>
    Stored,
    /// <summary>Already stored (the same report by the other way, or sent twice): nothing written.</summary>
    Duplicate,
    /// <summary>Refused (<see cref="TlsReportRefusedException"/>), with its log line: never stored, never retried.</summary>
    Refused,
}

/// <summary>What became of one received TLS report; <paramref name="Reason"/> the refusal's (an HTTPS 400 says it).</summary>
public readonly record struct TlsReportIntakeOutcome(TlsReportIntakeResult Result, string? Reason);

/// <summary>
/// Takes a received TLS report (by mail from the queue, or an HTTPS POST) through <see cref="TlsReportReader"/>
/// into <see cref="TlsReportRepository"/>, one row per policy for a hosted domain. Every refusal is one log line
/// "tls report from ORG/SENDER refused: REASON". The report must be about a hosted domain, and about the addressed
/// one where the address names a domain (a per-domain report address, the mta-sts.DOMAIN of a POST); policies
/// for other domains are dropped with a log line. A store that does not answer is not caught here: the caller
/// defers (the queue) or answers 503 (HTTPS), and the report is tried again.
/// <para>
/// Anyone may send reports, unauthenticated: a flood is bounded at intake. Per hosted domain and UTC day of receipt at most
/// <paramref name="maxReportsPerOrganization"/> reports of one organisation (a sender reports once a day; a few more for
/// retries with a new report-id) and at most <paramref name="maxRowsPerDomain"/> rows (one per report and policy) in all;
/// beyond, a report is refused with its log line. Of a policy's failure-details at most <see cref="MaxStoredFailureDetails"/>
/// (most sessions first) are stored; its totals stay whole.
/// </para>
/// </summary>
public sealed class TlsReportIntake(TlsReportReader reader, TlsReportRepository reports, Func<string, bool> isHosted, TimeProvider time, ILogger log,
    int maxReportsPerOrganization = TlsReportIntake.MaxReportsPerOrganizationPerDay, int maxRowsPerDomain = TlsReportIntake.MaxRowsPerDomainPerDay)
{
    /// <summary>Reports stored per organisation, hosted domain and UTC day.</summary>
    public const int MaxReportsPerOrganizationPerDay = 10;

    /// <summary>Report rows (report and policy) stored per hosted domain and UTC day, all organisations together.</summary>
    public const int MaxRowsPerDomainPerDay = 500;

    /// <summary>failure-details stored per policy of a report (the reader takes up to <see cref="TlsReportReader.MaxFailureDetails"/>).</summary>
    public const int MaxStoredFailureDetails = 100;

    public TlsReportIntakeOutcome FromMessage(Stream message, string sender, string? addressedDomain) =>
        Take(() => reader.ReadMessage(message), sender, addressedDomain, "mail");

    /// <summary>An HTTPS POST body, decoded as its Content-Type declares (<paramref name="gzip"/>: application/tlsrpt+gzip).</summary>
    public TlsReportIntakeOutcome FromBody(byte[] body, bool gzip, string sender, string? addressedDomain) =>
        Take(() => reader.ReadBody(body, gzip), sender, addressedDomain, "https");

    /// <summary>Logs a report refused before it was read (too large for the SIZE the deliverer saw, a POST without length) like the reader's refusals.</summary>
    public void LogRefused(string sender, string reason) => log.LogWarning("tls report from {Sender} refused: {Reason}", sender, reason);

    private TlsReportIntakeOutcome Take(Func<ReceivedTlsReport> read, string sender, string? addressedDomain, string source)
    {
        ReceivedTlsReport report;
        try
        {
            var all = read();
            report = TlsReportReader.Keep(all, d => (addressedDomain is null || d == addressedDomain) && isHosted(d));
            foreach (var other in all.Policies.Except(report.Policies).Select(p => p.PolicyDomain).Distinct())
                log.LogInformation("tls report from {Org}/{Sender}: policy for {Domain} ignored (not {What})", all.Organization, sender, other,
                    addressedDomain is null ? "a hosted domain" : addressedDomain);
        }
        catch (TlsReportRefusedException ex)
        {
            log.LogWarning("tls report from {Org}/{Sender} refused: {Reason}", ex.Organization ?? "?", sender, ex.Message);
            return new(TlsReportIntakeResult.Refused, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Reading touches no store: whatever else reading or parsing throws on hostile input (an IOException of the
            // reader's buffers included) is a refusal, never a retry loop; only the store below defers.
            log.LogWarning(ex, "tls report from ?/{Sender} refused: unreadable ({Error})", sender, ex.GetType().Name);
            return new(TlsReportIntakeResult.Refused, "unreadable");
        }
        var now = time.GetUtcNow();
        var rows = report.Policies.Select(p => Row(report, p, now, source)).ToList();
        var (added, overCap) = reports.Add(rows, maxReportsPerOrganization, maxRowsPerDomain);
        if (overCap is not null)
        {
            log.LogWarning("tls report from {Org}/{Sender} refused: {Reason}", report.Organization, sender, overCap);
            return new(TlsReportIntakeResult.Refused, overCap);
        }
        log.LogInformation("tls report from {Org}/{Sender} id {ReportId} for {Domains}: {Result} ({Source})", report.Organization, sender, report.ReportId,
            string.Join(", ", report.Policies.Select(p => p.PolicyDomain).Distinct()), added > 0 ? "stored" : "already stored", source);
        return new(added > 0 ? TlsReportIntakeResult.Stored : TlsReportIntakeResult.Duplicate, null);
    }

    private static ReceivedTlsReportRow Row(ReceivedTlsReport r, ReceivedTlsReportPolicy p, DateTimeOffset now, string source)
    {
        var policyString = string.Join("\n", p.PolicyStrings);
        return new ReceivedTlsReportRow(now, p.PolicyDomain, Fingerprint(r.Organization, r.ReportId, p.PolicyDomain, p.PolicyType, policyString),
            r.Organization, r.Contact, r.ReportId, r.Start, r.End, p.PolicyType, policyString, p.Successful, p.Failed,
            DetailsJson(p.Failures.OrderByDescending(f => f.Sessions).Take(MaxStoredFailureDetails).ToList()), source);
    }

    /// <summary>The report's identity: organisation, report-id and policy (the same report by mail and HTTPS is one).</summary>
    public static string Fingerprint(string organization, string reportId, string domain, string policyType, string policyString) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', organization, reportId, domain, policyType, policyString))));

    /// <summary>failure-details as the RFC's JSON array (the details column).</summary>
    public static string DetailsJson(IReadOnlyList<TlsReportFailure> failures)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var f in failures) f.WriteTo(w);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The details column read back (stored by <see cref="DetailsJson"/>; anything unreadable reads as none).</summary>
    public static IReadOnlyList<TlsReportFailure> Details(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
            return doc.RootElement.EnumerateArray().Select(d => new TlsReportFailure(
                d.GetProperty("result-type").GetString() ?? "",
                d.TryGetProperty("sending-mta-ip", out var s) ? s.GetString() : null,
                d.TryGetProperty("receiving-mx-hostname", out var mx) ? mx.GetString() : null,
                d.TryGetProperty("receiving-ip", out var ip) ? ip.GetString() : null,
                d.GetProperty("failed-session-count").GetInt64(),
                d.TryGetProperty("failure-reason-code", out var code) ? code.GetString() : null)).ToList();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return [];
        }
    }
}
