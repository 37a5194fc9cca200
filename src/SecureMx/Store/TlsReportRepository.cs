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
    public int Add(IReadOnlyList<ReceivedTlsReportRow> rows)
    {
        int added = 0;
        using (var c = db.Connect())
        {
            c.BeginWrite();
            foreach (var r in rows)
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
        return added;
    }

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
