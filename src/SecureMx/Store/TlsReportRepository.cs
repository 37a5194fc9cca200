using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;

namespace SecureMx.Store;

/// <summary>
/// The TLS reports received for the hosted domains (tls_reports_received, RFC 8460): one row per report and
/// policy, stored once whatever way and however often it came (UNIQUE(domain, fingerprint)); rows received
/// more than logs.retentionDays ago are pruned, at most once a day. Times are Unix milliseconds.
/// </summary>
public sealed class TlsReportRepository(StoreDatabase db, LogOptions logs, TimeProvider time, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <summary>Stores the rows of one report in one transaction; returns how many were new (0: a duplicate).</summary>
    public int Add(IReadOnlyList<ReceivedTlsReportRow> rows) => Add(rows, int.MaxValue, int.MaxValue).Added;

    /// <summary>
    /// Stores the rows of one report (one organisation and report-id) in one transaction, unless its new rows would make more than
    /// <paramref name="maxReportsPerOrganization"/> reports of its organisation, or more than <paramref name="maxRowsPerDomain"/> rows,
    /// for a domain received on the UTC day of its receipt: then nothing is stored and <see cref="TlsReportAddResult.OverCap"/> says which.
    /// Rows stored before (the same report again) count as duplicates, never against a cap.
    /// </summary>
    public TlsReportAddResult Add(IReadOnlyList<ReceivedTlsReportRow> rows, int maxReportsPerOrganization, int maxRowsPerDomain)
    {
        int added = 0;
        using (var c = db.Connect())
        {
            c.BeginWrite(); // the counts and the insert see one state, across the nodes of a shared store too
            var fresh = rows.Where(r => Convert.ToInt64(c.Scalar("SELECT COUNT(*) FROM tls_reports_received WHERE domain=@d AND fingerprint=@fp",
                ("@d", r.Domain), ("@fp", r.Fingerprint)), CultureInfo.InvariantCulture) == 0).ToList();
            foreach (var domain in fresh.GroupBy(r => r.Domain))
            {
                var first = domain.First();
                var day = first.ReceivedAt.UtcDateTime.Date;
                var (from, to) = (new DateTimeOffset(day, TimeSpan.Zero).ToUnixTimeMilliseconds(), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero).ToUnixTimeMilliseconds());
                var today = Convert.ToInt64(c.Scalar("SELECT COUNT(*) FROM tls_reports_received WHERE domain=@d AND received_at >= @from AND received_at < @to",
                    ("@d", domain.Key), ("@from", from), ("@to", to)), CultureInfo.InvariantCulture);
                if (today + domain.Count() > maxRowsPerDomain)
                {
                    c.Rollback();
                    return new(0, $"more than {maxRowsPerDomain} report rows for {domain.Key} today");
                }
                var reports = Convert.ToInt64(c.Scalar("""
                    SELECT COUNT(DISTINCT report_id) FROM tls_reports_received
                    WHERE domain=@d AND organization=@org AND report_id <> @rid AND received_at >= @from AND received_at < @to
                    """, ("@d", domain.Key), ("@org", first.Organization), ("@rid", first.ReportId), ("@from", from), ("@to", to)), CultureInfo.InvariantCulture);
                if (reports + 1 > maxReportsPerOrganization)
                {
                    c.Rollback();
                    return new(0, $"more than {maxReportsPerOrganization} reports from {first.Organization} for {domain.Key} today");
                }
            }
            foreach (var r in fresh)
            {
                added += c.Execute("""
                    INSERT INTO tls_reports_received(received_at, domain, fingerprint, organization, contact, report_id, start_at, end_at,
                      policy_type, policy_string, successful, failed, details, source)
                    VALUES(@at, @d, @fp, @org, @contact, @rid, @start, @end, @pt, @ps, @ok, @failed, @details, @source)
                    ON CONFLICT(domain, fingerprint) DO NOTHING
                    """, ("@at", r.ReceivedAt.ToUnixTimeMilliseconds()), ("@d", r.Domain), ("@fp", r.Fingerprint), ("@org", r.Organization),
                    ("@contact", r.Contact), ("@rid", r.ReportId), ("@start", r.Start.ToUnixTimeMilliseconds()), ("@end", r.End.ToUnixTimeMilliseconds()),
                    ("@pt", r.PolicyType), ("@ps", r.PolicyString), ("@ok", r.Successful), ("@failed", r.Failed), ("@details", r.Details), ("@source", r.Source));
            }
            c.Commit();
        }
        PruneIfDue();
        return new(added, null);
    }

    /// <summary>
    /// Per organisation and policy type, the reports on <paramref name="domain"/> whose date range ends at or after <paramref name="since"/>:
    /// their number and sessions, summed in SQL; the <paramref name="limit"/> with most failed sessions.
    /// </summary>
    public List<ReceivedTlsReportTotals> Totals(string domain, DateTimeOffset since, int limit) => db.Rows("""
        SELECT organization, policy_type, COUNT(DISTINCT report_id), CAST(SUM(successful) AS BIGINT), CAST(SUM(failed) AS BIGINT), MAX(end_at)
        FROM tls_reports_received WHERE domain=@d AND end_at >= @since
        GROUP BY organization, policy_type ORDER BY CAST(SUM(failed) AS BIGINT) DESC, organization, policy_type LIMIT @limit
        """, r => new ReceivedTlsReportTotals(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5))),
        ("@d", domain), ("@since", since.ToUnixTimeMilliseconds()), ("@limit", limit));

    /// <summary>The organisation and failure-details (the details column) of the <paramref name="limit"/> rows with most failed sessions since <paramref name="since"/>.</summary>
    public List<(string Organization, string Details)> FailureDetails(string domain, DateTimeOffset since, int limit) => db.Rows("""
        SELECT organization, details FROM tls_reports_received WHERE domain=@d AND end_at >= @since AND failed > 0
        ORDER BY failed DESC, id LIMIT @limit
        """, r => (r.GetString(0), r.GetString(1)), ("@d", domain), ("@since", since.ToUnixTimeMilliseconds()), ("@limit", limit));

    /// <summary>The reports on <paramref name="domain"/> whose date range ends at or after <paramref name="since"/>, newest first.</summary>
    public List<ReceivedTlsReportRow> Since(string domain, DateTimeOffset since) => db.Rows("""
        SELECT received_at, domain, fingerprint, organization, contact, report_id, start_at, end_at, policy_type, policy_string,
          successful, failed, details, source
        FROM tls_reports_received WHERE domain=@d AND end_at >= @since ORDER BY end_at DESC, organization, id
        """, r => new ReceivedTlsReportRow(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1), r.GetString(2), r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)), r.GetString(8), r.GetString(9), r.GetInt64(10), r.GetInt64(11),
            r.GetString(12), r.GetString(13)),
        ("@d", domain), ("@since", since.ToUnixTimeMilliseconds()));

    /// <summary>Deletes reports received more than logs.retentionDays ago, at most once a day; returns the rows deleted.</summary>
    public int PruneIfDue()
    {
        var now = time.GetUtcNow();
        if (now < _nextPrune) return 0;
        _nextPrune = now.AddDays(1);
        try
        {
            var n = db.Execute("DELETE FROM tls_reports_received WHERE received_at < @cutoff",
                ("@cutoff", now.AddDays(-logs.RetentionDays).ToUnixTimeMilliseconds()));
            if (n > 0) _logger.LogInformation("tls reports: removed {Count} rows older than {Days} days", n, logs.RetentionDays);
            return n;
        }
        catch (System.Data.Common.DbException ex)
        {
            _logger.LogError(ex, "pruning the received TLS reports failed"); // tried again tomorrow
            return 0;
        }
    }
}
