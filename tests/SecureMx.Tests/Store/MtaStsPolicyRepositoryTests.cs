using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The MTA-STS policy cache's table (mta_sts_policies), on SQLite and — with SECUREMX_TEST_STORE=postgresql —
/// on PostgreSQL, where every node shares it: one row per domain, replaced in place, claimed by one node for a refresh.
/// </summary>
public sealed class MtaStsPolicyRepositoryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private const string Policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 86400\r\n";

    private readonly TestStore _store = new();
    private readonly MtaStsPolicyRepository _repository;

    public MtaStsPolicyRepositoryTests() => _repository = new MtaStsPolicyRepository(_store.Database);

    public void Dispose() => _store.Dispose();

    private static MtaStsPolicyRow Row(string domain, string id = "id1", DateTimeOffset? fetched = null, TimeSpan? maxAge = null, DateTimeOffset? checkedAt = null, string? error = null)
    {
        var f = fetched ?? T0;
        return new MtaStsPolicyRow(domain, id, Policy, f, f + (maxAge ?? TimeSpan.FromDays(1)), checkedAt ?? f, error);
    }

    [Fact]
    public void ASavedPolicyReadsBackAsSaved()
    {
        var row = Row("example.org", checkedAt: T0.AddMinutes(3), error: "sts-policy-fetch-error: x");
        _repository.Save(row);
        Assert.Equal(row, _repository.Get("example.org"));
        Assert.Null(_repository.Get("other.example"));
    }

    [Fact]
    public void SavingAgainReplacesTheDomainsOneRow()
    {
        _repository.Save(Row("example.org", "old", error: "sts-policy-invalid: bad"));
        var fresh = Row("example.org", "new", fetched: T0.AddHours(1), maxAge: TimeSpan.FromDays(7));
        _repository.Save(fresh);
        Assert.Equal(fresh, _repository.Get("example.org"));
        Assert.Equal(1, _store.Count("mta_sts_policies"));
    }

    [Fact]
    public void ACheckIsRecordedWithoutTouchingThePolicy()
    {
        var row = Row("example.org");
        _repository.Save(row);
        Assert.True(_repository.RecordCheck("example.org", T0.AddMinutes(10), "sts-webpki-invalid: certificate not trusted"));
        Assert.Equal(row with { CheckedAt = T0.AddMinutes(10), LastError = "sts-webpki-invalid: certificate not trusted" }, _repository.Get("example.org"));
        Assert.True(_repository.RecordCheck("example.org", T0.AddMinutes(11), null));
        Assert.Null(_repository.Get("example.org")!.LastError);
        Assert.False(_repository.RecordCheck("unknown.example", T0, "x"));
    }

    [Fact]
    public void OnlyOneOfTwoNodesClaimsTheSameRefresh()
    {
        _repository.Save(Row("example.org"));
        var seen = _repository.Get("example.org")!.CheckedAt;
        var otherNode = new MtaStsPolicyRepository(_store.Database);
        Assert.True(_repository.TryClaim("example.org", seen, T0.AddHours(13)));
        Assert.False(otherNode.TryClaim("example.org", seen, T0.AddHours(13).AddSeconds(1)));
        Assert.Equal(T0.AddHours(13), _repository.Get("example.org")!.CheckedAt);
        Assert.False(_repository.TryClaim("unknown.example", seen, T0));
    }

    [Fact]
    public void RefreshCandidatesArePastHalfTheirLifeOrLongUncheckedAndNotExpired()
    {
        var now = T0.AddDays(10);
        _repository.Save(Row("fresh.example", fetched: now.AddHours(-1), maxAge: TimeSpan.FromDays(1)));
        _repository.Save(Row("half.example", fetched: now.AddHours(-13), maxAge: TimeSpan.FromDays(1)));
        _repository.Save(Row("unchecked.example", fetched: now.AddDays(-2), maxAge: TimeSpan.FromDays(30)));
        _repository.Save(Row("checked.example", fetched: now.AddDays(-2), maxAge: TimeSpan.FromDays(30), checkedAt: now.AddHours(-2)));
        _repository.Save(Row("expired.example", fetched: now.AddDays(-2), maxAge: TimeSpan.FromDays(1)));
        var due = _repository.RefreshCandidates(now, now.AddDays(-1)).Select(r => r.Domain).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["half.example", "unchecked.example"], due);
    }

    [Fact]
    public void OnlyExpiredPoliciesAreDeleted()
    {
        var now = T0.AddDays(2);
        _repository.Save(Row("expired.example", fetched: T0, maxAge: TimeSpan.FromDays(1)));
        _repository.Save(Row("alive.example", fetched: T0, maxAge: TimeSpan.FromDays(3)));
        _repository.Save(Row("also-expired.example", fetched: T0, maxAge: TimeSpan.FromHours(1)));
        Assert.False(_repository.DeleteIfExpired("alive.example", now));
        Assert.True(_repository.DeleteIfExpired("expired.example", now));
        Assert.Equal(1, _repository.DeleteExpired(now));
        Assert.Equal(["alive.example"], _repository.All().Select(r => r.Domain));
    }
}
