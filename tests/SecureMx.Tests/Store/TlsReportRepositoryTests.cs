using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The received TLS reports (tls_reports_received), on SQLite and — with SECUREMX_TEST_STORE=postgresql — on PostgreSQL:
/// one row per report and policy, a duplicate stored once, read per domain since a time, pruned after logs.retentionDays.
/// </summary>
public sealed class TlsReportRepositoryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly TestStore _store = new();
    private readonly TlsReportRepository _reports;

    public TlsReportRepositoryTests() => _reports = new TlsReportRepository(_store.Database, new LogOptions { RetentionDays = 90 }, _time);

    public void Dispose() => _store.Dispose();

    private static ReceivedTlsReportRow Row(string domain, string fingerprint, DateTimeOffset end, DateTimeOffset? received = null, string? contact = "c@x.example") => new(
        received ?? T0, domain, fingerprint, "Org " + fingerprint, contact, "id-" + fingerprint, end.AddDays(-1), end, "sts", "version: STSv1\nmode: enforce",
        10, 2, "[{\"result-type\":\"certificate-expired\",\"failed-session-count\":2}]", "mail");

    [Fact]
    public void ARowReadsBackAsStoredAndADuplicateIsStoredOnce()
    {
        var row = Row("a.example", "f1", T0.AddHours(-8), contact: null);
        Assert.Equal(1, _reports.Add([row]));
        Assert.Equal(0, _reports.Add([row with { Source = "https", ReceivedAt = T0.AddMinutes(5) }]));
        Assert.Equal(row, Assert.Single(_reports.Since("a.example", T0.AddDays(-30))));
    }

    [Fact]
    public void SinceReadsOneDomainsReportsEndingAfterTheTimeNewestFirst()
    {
        _reports.Add([Row("a.example", "old", T0.AddDays(-40)), Row("a.example", "new", T0.AddDays(-1)), Row("a.example", "newer", T0.AddHours(-1)), Row("b.example", "other", T0.AddHours(-1))]);
        Assert.Equal(["newer", "new"], _reports.Since("a.example", T0.AddDays(-30)).Select(r => r.Fingerprint));
    }

    [Fact]
    public void ReportsReceivedLongerAgoThanTheRetentionArePruned()
    {
        _reports.Add([Row("a.example", "kept", T0, received: T0)]);
        _time.Advance(TimeSpan.FromDays(60));
        _reports.Add([Row("a.example", "fresh", T0.AddDays(60), received: _time.GetUtcNow())]);
        _time.Advance(TimeSpan.FromDays(40));
        Assert.Equal(1, _reports.PruneIfDue());
        Assert.Equal(["fresh"], _reports.Since("a.example", T0.AddDays(-1)).Select(r => r.Fingerprint));
    }

    [Fact]
    public void OverACapNothingOfTheReportIsStoredAndADuplicateIsNoneOverIt()
    {
        ReceivedTlsReportRow Of(string org, string id, string fp, DateTimeOffset? at = null) =>
            Row("a.example", fp, T0, at) with { Organization = org, ReportId = id };
        Assert.Equal(new TlsReportAddResult(2, null), _reports.Add([Of("Org", "r1", "f1"), Of("Org", "r1", "f2")], maxReportsPerOrganization: 2, maxRowsPerDomain: 4));
        Assert.Equal(new TlsReportAddResult(1, null), _reports.Add([Of("Org", "r2", "f3")], 2, 4));
        Assert.Equal(new TlsReportAddResult(0, "more than 2 reports from Org for a.example today"), _reports.Add([Of("Org", "r3", "f4")], 2, 4));
        Assert.Equal(new TlsReportAddResult(0, "more than 4 report rows for a.example today"), _reports.Add([Of("Other", "x1", "f5"), Of("Other", "x1", "f6")], 2, 4));
        Assert.Equal(new TlsReportAddResult(0, null), _reports.Add([Of("Org", "r1", "f1")], 2, 4)); // stored before: a duplicate
        Assert.Equal(new TlsReportAddResult(1, null), _reports.Add([Of("Other", "x1", "f5")], 2, 4));
        // The next UTC day counts afresh.
        Assert.Equal(new TlsReportAddResult(1, null), _reports.Add([Of("Org", "r3", "f4", T0.AddDays(1).Date)], 2, 4));
        Assert.Equal(["f1", "f2", "f3", "f4", "f5"], _reports.Since("a.example", T0.AddDays(-30)).Select(r => r.Fingerprint).Order());
    }

    [Fact]
    public void TotalsAreSummedPerOrganisationAndPolicyTypeMostFailedFirstAndLimited()
    {
        _reports.Add([
            Row("a.example", "a1", T0) with { Organization = "A", ReportId = "1", Successful = 5, Failed = 1 },
            Row("a.example", "a2", T0) with { Organization = "A", ReportId = "2", Successful = 7, Failed = 4 },
            Row("a.example", "a3", T0) with { Organization = "A", ReportId = "2", PolicyType = "tlsa", Successful = 1, Failed = 0 },
            Row("a.example", "b1", T0) with { Organization = "B", ReportId = "1", Successful = 100, Failed = 50 },
            Row("a.example", "old", T0.AddDays(-40)) with { Organization = "B", Failed = 1000 },
            Row("b.example", "c1", T0) with { Organization = "C", Failed = 9999 },
        ]);
        var totals = _reports.Totals("a.example", T0.AddDays(-30), limit: 10);
        Assert.Equal([("B", "sts", 1L, 100L, 50L), ("A", "sts", 2L, 12L, 5L), ("A", "tlsa", 1L, 1L, 0L)],
            totals.Select(t => (t.Organization, t.PolicyType, t.Reports, t.Successful, t.Failed)));
        Assert.Equal(["B", "A"], _reports.Totals("a.example", T0.AddDays(-30), limit: 2).Select(t => t.Organization));
        Assert.Equal(["b1", "a2"], _reports.FailureDetails("a.example", T0.AddDays(-30), limit: 2)
            .Select(d => d.Organization == "B" ? "b1" : "a2"));
        Assert.Equal(3, _reports.FailureDetails("a.example", T0.AddDays(-30), limit: 10).Count); // rows without failures are not read
    }
}
