using SecureMx.Store;

namespace SecureMx.Reporting;

/// <summary>
/// What the received TLS reports of one hosted domain say (the domain page): per sending organisation and policy type the
/// reports and sessions, successful and failed; and the failures by organisation, result type (RFC 8460 §4.3) and receiving
/// MX and IP — which senders' reports show failures, how often and why. Most failures first.
/// </summary>
public sealed record ReceivedTlsReportSummary(
    DateTimeOffset Since,
    IReadOnlyList<ReceivedTlsReportSummary.Sender> Senders,
    IReadOnlyList<ReceivedTlsReportSummary.Failure> Failures)
{
    public sealed record Sender(string Organization, string PolicyType, int Reports, long Successful, long Failed, DateTimeOffset LastEnd);

    public sealed record Failure(string Organization, string ResultType, string? ReceivingMx, string? ReceivingIp, long Sessions);

    public bool IsEmpty => Senders.Count == 0;

    public static ReceivedTlsReportSummary Of(IReadOnlyList<ReceivedTlsReportRow> rows, DateTimeOffset since)
    {
        var senders = rows
            .GroupBy(r => (r.Organization, r.PolicyType))
            .Select(g => new Sender(g.Key.Organization, g.Key.PolicyType, g.Select(r => r.ReportId).Distinct().Count(),
                g.Sum(r => r.Successful), g.Sum(r => r.Failed), g.Max(r => r.End)))
            .OrderByDescending(s => s.Failed).ThenBy(s => s.Organization, StringComparer.Ordinal).ThenBy(s => s.PolicyType, StringComparer.Ordinal)
            .ToList();
        var failures = rows
            .SelectMany(r => TlsReportIntake.Details(r.Details).Select(f => (r.Organization, f)))
            .GroupBy(x => (x.Organization, x.f.ResultType, x.f.ReceivingMx, x.f.ReceivingIp))
            .Select(g => new Failure(g.Key.Organization, g.Key.ResultType, g.Key.ReceivingMx, g.Key.ReceivingIp, g.Sum(x => x.f.Sessions)))
            .OrderByDescending(f => f.Sessions).ThenBy(f => f.Organization, StringComparer.Ordinal).ThenBy(f => f.ResultType, StringComparer.Ordinal)
            .ToList();
        return new ReceivedTlsReportSummary(since, senders, failures);
    }
}
