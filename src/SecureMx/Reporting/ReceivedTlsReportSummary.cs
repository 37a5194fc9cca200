using SecureMx.Store;

namespace SecureMx.Reporting;

/// <summary>
/// What the received TLS reports of one hosted domain say (the domain page): per sending organisation and policy type the
/// reports and sessions, successful and failed; and the failures by organisation, result type (RFC 8460 §4.3) and receiving
/// MX and IP — which senders' reports show failures, how often and why. Most failures first, each list bounded.
/// </summary>
public sealed record ReceivedTlsReportSummary(
    DateTimeOffset Since,
    IReadOnlyList<ReceivedTlsReportSummary.Sender> Senders,
    IReadOnlyList<ReceivedTlsReportSummary.Failure> Failures)
{
    public sealed record Sender(string Organization, string PolicyType, long Reports, long Successful, long Failed, DateTimeOffset LastEnd);

    public sealed record Failure(string Organization, string ResultType, string? ReceivingMx, string? ReceivingIp, long Sessions);

    /// <summary>Organisation and policy lines shown at most (those with most failed sessions).</summary>
    public const int MaxSenders = 50;

    /// <summary>Stored rows whose failure-details are read at most (those with most failed sessions), each at most <see cref="TlsReportIntake.MaxStoredFailureDetails"/>.</summary>
    public const int MaxFailureRows = 50;

    /// <summary>Failure lines shown at most (those with most sessions).</summary>
    public const int MaxFailures = 50;

    public bool IsEmpty => Senders.Count == 0;

    /// <summary>
    /// The summary since <paramref name="since"/>: the totals summed in SQL (at most <see cref="MaxSenders"/> lines), the failures from
    /// the details of at most <see cref="MaxFailureRows"/> rows — bounded work per page view however many reports are stored.
    /// </summary>
    public static ReceivedTlsReportSummary Load(TlsReportRepository reports, string domain, DateTimeOffset since)
    {
        var senders = reports.Totals(domain, since, MaxSenders)
            .Select(t => new Sender(t.Organization, t.PolicyType, t.Reports, t.Successful, t.Failed, t.LastEnd))
            .OrderByDescending(s => s.Failed).ThenBy(s => s.Organization, StringComparer.Ordinal).ThenBy(s => s.PolicyType, StringComparer.Ordinal)
            .ToList();
        var failures = reports.FailureDetails(domain, since, MaxFailureRows)
            .SelectMany(r => TlsReportIntake.Details(r.Details).Select(f => (r.Organization, f)))
            .GroupBy(x => (x.Organization, x.f.ResultType, x.f.ReceivingMx, x.f.ReceivingIp))
            .Select(g => new Failure(g.Key.Organization, g.Key.ResultType, g.Key.ReceivingMx, g.Key.ReceivingIp, g.Sum(x => x.f.Sessions)))
            .OrderByDescending(f => f.Sessions).ThenBy(f => f.Organization, StringComparer.Ordinal).ThenBy(f => f.ResultType, StringComparer.Ordinal)
            .Take(MaxFailures)
            .ToList();
        return new ReceivedTlsReportSummary(since, senders, failures);
    }
}
