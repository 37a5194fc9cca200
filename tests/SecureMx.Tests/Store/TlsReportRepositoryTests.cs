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
}
