using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The TLS reporting counts (tls_sessions, RFC 8460 §4.4): sessions add up per UTC day, domain, policy,
/// result and hosts, across write-behind batches and across nodes writing one store (SQLite and
/// PostgreSQL; <c>SECUREMX_TEST_STORE=postgresql</c>); rows past the kept days go.
/// </summary>
public sealed class TlsSessionRepositoryTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Noon);
    private readonly TestStore _store;

    public TlsSessionRepositoryTests() => _store = new TestStore(_time);

    public void Dispose() => _store.Dispose();

    private TlsSessionRepository Repository() => new(_store.Database, _time, NullLogger.Instance, _time);

    private static TlsSessionResult Sts(DateTimeOffset at, TlsResultType? failure = null, string mx = "mx1.example.org", string? detail = null, string domain = "example.org") =>
        new(at, domain, TlsReportPolicyType.Sts, ["version: STSv1", "mode: enforce", "mx: *.example.org", "max_age: 86400"], ["*.example.org"],
            failure, mx, "192.0.2.25", "198.51.100.1", failure is null ? null : detail ?? $"{failure.Value.Name()} at {mx}");

    [Fact]
    public void CountsAddUpAcrossBatches()
    {
        using var repo = Repository();
        for (int i = 0; i < 3; i++) repo.Record(Sts(Noon));
        repo.Record(Sts(Noon, TlsResultType.CertificateExpired, detail: "first"));
        repo.Flush();
        for (int i = 0; i < 2; i++) repo.Record(Sts(Noon.AddMinutes(i)));
        repo.Record(Sts(Noon, TlsResultType.CertificateExpired, detail: "second"));
        repo.Record(Sts(Noon, TlsResultType.StartTlsNotSupported, mx: "mx2.example.org"));
        repo.Flush();

        var counts = repo.Counts("example.org", Day);
        Assert.Equal(3, counts.Count);
        var success = Assert.Single(counts, c => c.Successful);
        Assert.Equal(5, success.Sessions);
        Assert.Null(success.Detail);
        Assert.Equal("version: STSv1\nmode: enforce\nmx: *.example.org\nmax_age: 86400", success.PolicyString);
        Assert.Equal("*.example.org", success.MxHost);
        Assert.Equal(("sts", "198.51.100.1", "mx1.example.org", "192.0.2.25"), (success.PolicyType, success.SendingIp, success.ReceivingMx, success.ReceivingIp));
        var expired = Assert.Single(counts, c => c.ResultType == "certificate-expired");
        Assert.Equal((2L, "second"), (expired.Sessions, expired.Detail));
        var starttls = Assert.Single(counts, c => c.ResultType == "starttls-not-supported");
        Assert.Equal((1L, "mx2.example.org"), (starttls.Sessions, starttls.ReceivingMx));
    }

    [Fact]
    public void TwoNodesCountIntoTheSameRows()
    {
        using var a = Repository();
        using var b = Repository();
        for (int i = 0; i < 4; i++) a.Record(Sts(Noon));
        for (int i = 0; i < 6; i++) b.Record(Sts(Noon));
        a.Record(Sts(Noon, TlsResultType.ValidationFailure));
        b.Record(Sts(Noon, TlsResultType.ValidationFailure));
        a.Flush();
        b.Flush();
        var counts = a.Counts("example.org", Day);
        Assert.Equal(10, Assert.Single(counts, c => c.Successful).Sessions);
        Assert.Equal(2, Assert.Single(counts, c => !c.Successful).Sessions);
    }

    [Fact]
    public void AUtcDayIsCountedApartFromTheNextAndDomainsAreListedPerDay()
    {
        using var repo = Repository();
        repo.Record(Sts(Day.AddDays(1).AddTicks(-1)));
        repo.Record(Sts(Day.AddDays(1)));
        repo.Record(Sts(Day.AddDays(1), domain: "Other.TEST"));
        // 20:00 on the 5th in UTC-8 is 04:00 UTC on the 6th: the UTC day counts.
        repo.Record(new TlsSessionResult(new DateTimeOffset(2026, 12, 5, 20, 0, 0, TimeSpan.FromHours(-8)), "third.test", TlsReportPolicyType.NoPolicyFound, [], [], null, "mx.third.test", null, null));
        Assert.Equal(["example.org"], repo.Domains(Day));
        Assert.Equal(["example.org", "other.test", "third.test"], repo.Domains(Day.AddDays(1)));
        Assert.Equal(1, Assert.Single(repo.Counts("example.org", Day)).Sessions);
        var third = Assert.Single(repo.Counts("third.test", Day.AddDays(1)));
        Assert.Equal(("no-policy-found", "", "", ""), (third.PolicyType, third.PolicyString, third.MxHost, third.SendingIp));
    }

    [Fact]
    public void RowsOlderThanTheKeptDaysArePrunedAfterABatch()
    {
        using var repo = Repository();
        repo.Record(Sts(Noon.AddDays(-TlsSessionRepository.KeptDays - 1)));
        repo.Record(Sts(Noon.AddDays(-TlsSessionRepository.KeptDays)));
        repo.Flush();
        Assert.Empty(repo.Counts("example.org", Day.AddDays(-TlsSessionRepository.KeptDays - 1)));
        Assert.Single(repo.Counts("example.org", Day.AddDays(-TlsSessionRepository.KeptDays)));
    }
}

/// <summary>Two nodes with data directories of their own on one PostgreSQL store count the same day's sessions together, at the same time.</summary>
public sealed class TlsSessionRepositoryPostgresTests : IDisposable
{
    private readonly TwoNodeStores _nodes = new();

    public void Dispose() => _nodes.Dispose();

    [Fact]
    public async Task ConcurrentBatchesOfTwoNodesAddUp()
    {
        var now = DateTimeOffset.UtcNow;
        using var a = new TlsSessionRepository(_nodes.NodeA, TimeProvider.System, NullLogger.Instance, options: new LogWriterOptions { BatchSize = 7 });
        using var b = new TlsSessionRepository(_nodes.NodeB, TimeProvider.System, NullLogger.Instance, options: new LogWriterOptions { BatchSize = 7 });
        var result = new TlsSessionResult(now, "example.org", TlsReportPolicyType.NoPolicyFound, [], [], TlsResultType.StartTlsNotSupported, "mx.example.org", "192.0.2.25", null,
            "mx.example.org[192.0.2.25] does not offer STARTTLS");
        await Task.WhenAll(
            Task.Run(() => { for (int i = 0; i < 200; i++) { a.Record(result); if (i % 13 == 0) a.Flush(); } a.Flush(); }, TestContext.Current.CancellationToken),
            Task.Run(() => { for (int i = 0; i < 300; i++) { b.Record(result); if (i % 11 == 0) b.Flush(); } b.Flush(); }, TestContext.Current.CancellationToken));
        var row = Assert.Single(b.Counts("example.org", UtcDay.Of(now)));
        Assert.Equal(500, row.Sessions);
        Assert.Equal("starttls-not-supported", row.ResultType);
    }
}
