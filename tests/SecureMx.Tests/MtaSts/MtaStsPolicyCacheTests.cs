using Microsoft.Extensions.Time.Testing;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.MtaSts;

/// <summary>
/// The policy cache's rules (RFC 8461 §5.1, §3.3, §10.2) on a fake clock, over a real store and a
/// scripted TXT record and policy host: when the cached policy is used, fetched again, kept after a
/// failure, dropped at expiry; the memory in front of the store; a store that cannot be read; the refresh.
/// </summary>
public sealed class MtaStsPolicyCacheTests : IDisposable
{
    private const string Domain = "example.org";
    private const string Enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 86400\r\n";
    private const string Testing = "version: STSv1\r\nmode: testing\r\nmx: mx2.example.org\r\nmax_age: 604800\r\n";
    private const string None = "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
    private readonly TestStore _store;
    private readonly MtaStsPolicyRepository _rows;
    private readonly ScriptedPolicyFetcher _fetcher = new();
    private readonly MtaStsPolicyCache _cache;

    public MtaStsPolicyCacheTests()
    {
        _store = new TestStore(_time);
        _rows = new MtaStsPolicyRepository(_store.Database);
        _cache = new MtaStsPolicyCache(_fetcher, _rows, _time);
    }

    public void Dispose() => _store.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<MtaStsLookup> Get(string domain = Domain) => _cache.GetAsync(domain, Ct);

    /// <summary>A fetched and cached enforce policy under id "v1" (the clock then moved past the memory's minute).</summary>
    private async Task<MtaStsLookup> CacheEnforcePolicyAsync()
    {
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, false), (lookup.Kind, lookup.Mode, lookup.FromCache));
        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        return lookup;
    }

    [Fact]
    public async Task NoTxtRecordAndNothingCachedIsNoPolicyAndNoFetch()
    {
        var lookup = await Get();
        Assert.Equal(MtaStsLookup.None, lookup);
        Assert.Equal(0, _fetcher.Fetches);
    }

    [Fact]
    public async Task ANewRecordIsFetchedAndStoredUntilMaxAge()
    {
        var lookup = await CacheEnforcePolicyAsync();
        Assert.Equal("v1", lookup.PolicyId);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero), lookup.ExpiresAt);
        Assert.Null(lookup.Failure);
        var row = _rows.Get(Domain)!;
        Assert.Equal(("v1", Enforce, lookup.ExpiresAt!.Value, (string?)null), (row.PolicyId, row.Policy, row.ExpiresAt, row.LastError));
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task TheSameIdUsesTheCachedPolicyWithoutFetching()
    {
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromHours(3));
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, true, "v1"), (lookup.Kind, lookup.Mode, lookup.FromCache, lookup.PolicyId));
        Assert.Equal(1, _fetcher.Fetches);
        Assert.Equal(2, _fetcher.Discoveries);
    }

    [Fact]
    public async Task WithinAMinuteTheAnswerIsReusedWithoutDnsOrStore()
    {
        await Get(); // no record
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        _time.Advance(MtaStsPolicyCache.RecheckInterval - TimeSpan.FromSeconds(1));
        Assert.Equal(MtaStsLookupKind.NoPolicy, (await Get()).Kind);
        Assert.Equal(1, _fetcher.Discoveries);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(MtaStsLookupKind.Policy, (await Get()).Kind);
        Assert.Equal(2, _fetcher.Discoveries);
    }

    [Fact]
    public async Task DomainNamesAreComparedWithoutCaseOrTrailingDot()
    {
        await CacheEnforcePolicyAsync();
        var lookup = await _cache.GetAsync("Example.ORG.", Ct);
        Assert.Equal(("v1", true), (lookup.PolicyId, lookup.FromCache));
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task AChangedIdFetchesTheNewPolicyAndReplacesTheCachedOne()
    {
        await CacheEnforcePolicyAsync();
        _fetcher.Record("v2");
        _fetcher.Serve(Testing);
        var lookup = await Get();
        Assert.Equal((MtaStsMode.Testing, "v2", false), (lookup.Mode, lookup.PolicyId, lookup.FromCache));
        Assert.Equal(2, _fetcher.Fetches);
        Assert.Equal(("v2", Testing), (_rows.Get(Domain)!.PolicyId, _rows.Get(Domain)!.Policy));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromDays(7), lookup.ExpiresAt);
    }

    [Fact]
    public async Task APolicyOfModeNoneReplacesACachedEnforcePolicy()
    {
        await CacheEnforcePolicyAsync();
        _fetcher.Record("off");
        _fetcher.Serve(None);
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.None, "off"), (lookup.Kind, lookup.Mode, lookup.PolicyId));
        Assert.Equal(None, _rows.Get(Domain)!.Policy);
    }

    [Fact]
    public async Task AFailedFetchKeepsTheCachedPolicyAndRecordsTheFailure()
    {
        await CacheEnforcePolicyAsync();
        _fetcher.Record("v2");
        _fetcher.Fail(MtaStsFailure.WebPki("mta-sts.example.org: certificate not trusted: issued by an untrusted root"));
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, "v1", true), (lookup.Kind, lookup.Mode, lookup.PolicyId, lookup.FromCache));
        Assert.Equal(TlsResultType.WebPkiInvalid, lookup.FailureType);
        Assert.Equal("sts-webpki-invalid: mta-sts.example.org: certificate not trusted: issued by an untrusted root", lookup.Failure);
        var row = _rows.Get(Domain)!;
        Assert.Equal(("v1", Enforce, lookup.Failure, _time.GetUtcNow()), (row.PolicyId, row.Policy, row.LastError, row.CheckedAt));
    }

    [Fact]
    public async Task AFailedFetchWithNothingCachedIsUnavailableWithTheFailureType()
    {
        _fetcher.Record("v1");
        _fetcher.Fail(MtaStsFailure.Invalid("https://mta-sts.example.org/.well-known/mta-sts.txt: not a valid policy: no mx field"));
        var lookup = await Get();
        Assert.Equal(MtaStsLookupKind.Unavailable, lookup.Kind);
        Assert.Equal(MtaStsMode.None, lookup.Mode);
        Assert.Equal(TlsResultType.PolicyInvalid, lookup.FailureType);
        Assert.StartsWith("sts-policy-invalid: ", lookup.Failure);
        Assert.False(lookup.CacheUnreadable);
        Assert.Null(_rows.Get(Domain));
    }

    [Fact]
    public async Task AFailedIdIsNotFetchedAgainForFiveMinutesButANewIdIs()
    {
        _fetcher.Record("v1");
        _fetcher.Fail(MtaStsFailure.FetchError("connection refused"));
        Assert.Equal(MtaStsLookupKind.Unavailable, (await Get()).Kind);
        _time.Advance(TimeSpan.FromMinutes(2));
        var again = await Get();
        Assert.Equal((MtaStsLookupKind.Unavailable, "sts-policy-fetch-error: connection refused"), (again.Kind, again.Failure));
        Assert.Equal(1, _fetcher.Fetches);
        _time.Advance(MtaStsPolicyCache.FailedFetchBackoff - TimeSpan.FromMinutes(2));
        _fetcher.Serve(Enforce);
        Assert.Equal(MtaStsLookupKind.Policy, (await Get()).Kind);
        Assert.Equal(2, _fetcher.Fetches);

        _fetcher.Record("v2");
        _fetcher.Fail(MtaStsFailure.FetchError("timeout"));
        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        Assert.True((await Get()).FromCache);
        _fetcher.Record("v3");
        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        await Get();
        Assert.Equal(4, _fetcher.Fetches); // v3 is another id: fetched at once
    }

    [Fact]
    public async Task ARemovedTxtRecordDoesNotEndACachedPolicyBeforeMaxAge()
    {
        await CacheEnforcePolicyAsync();
        _fetcher.Discovery = MtaStsDiscovery.NoRecord;
        _time.Advance(TimeSpan.FromHours(20));
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, true), (lookup.Kind, lookup.Mode, lookup.FromCache));
        Assert.Null(lookup.FailureType);
        Assert.Null(lookup.Failure);
        _fetcher.Discovery = MtaStsDiscovery.InvalidRecord("TXT _mta-sts.example.org: 2 TXT records begin with v=STSv1");
        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        Assert.Equal(MtaStsMode.Enforce, (await Get()).Mode);
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task AnExpiredPolicyIsNeverUsedAndIsDeleted()
    {
        await CacheEnforcePolicyAsync();
        _fetcher.Discovery = MtaStsDiscovery.NoRecord;
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(MtaStsLookup.None, await Get());
        Assert.Null(_rows.Get(Domain));
    }

    [Fact]
    public async Task AnExpiredPolicyWithAnUnchangedIdIsFetchedAgain()
    {
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromDays(1));
        var lookup = await Get();
        Assert.Equal((MtaStsMode.Enforce, false), (lookup.Mode, lookup.FromCache));
        Assert.Equal(2, _fetcher.Fetches);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromDays(1), _rows.Get(Domain)!.ExpiresAt);
    }

    [Fact]
    public async Task ARememberedAnswerIsNotUsedPastThePolicysExpiry()
    {
        _fetcher.Record("v1");
        _fetcher.Serve("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 30\n");
        Assert.Equal(MtaStsMode.Enforce, (await Get()).Mode);
        _fetcher.Discovery = MtaStsDiscovery.NoRecord;
        _time.Advance(TimeSpan.FromSeconds(30)); // within the memory's minute, but at max_age
        Assert.Equal(MtaStsLookup.None, await Get());
    }

    [Fact]
    public async Task AFailedTxtLookupUsesTheCachedPolicyElseIsUnavailable()
    {
        _fetcher.Discovery = MtaStsDiscovery.Failed("TXT lookup of _mta-sts.example.org failed: SERVFAIL");
        var without = await Get();
        Assert.Equal((MtaStsLookupKind.Unavailable, TlsResultType.PolicyFetchError), (without.Kind, without.FailureType));
        Assert.Contains("SERVFAIL", without.Failure);

        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        await CacheEnforcePolicyAsync();
        _fetcher.Discovery = MtaStsDiscovery.Failed("TXT lookup of _mta-sts.example.org failed: SERVFAIL");
        var with = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, true, TlsResultType.PolicyFetchError), (with.Kind, with.Mode, with.FromCache, with.FailureType));
    }

    [Fact]
    public async Task ConcurrentLookupsOfADomainShareOneFetch()
    {
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        _fetcher.FetchGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lookups = Enumerable.Range(0, 8).Select(_ => Task.Run(() => Get())).ToList();
        while (_fetcher.Fetches == 0) await Task.Delay(10, Ct);
        await Task.Delay(100, Ct); // let the others queue behind the first
        _fetcher.FetchGate.SetResult();
        var answers = await Task.WhenAll(lookups);
        Assert.All(answers, a => Assert.Equal((MtaStsLookupKind.Policy, "v1"), (a.Kind, a.PolicyId)));
        Assert.Equal(1, _fetcher.Fetches);
        Assert.Equal(1, _fetcher.Discoveries);
    }

    [Fact]
    public async Task AnotherNodesFetchIsSeenThroughTheSharedStore()
    {
        var otherNode = new MtaStsPolicyCache(_fetcher, new MtaStsPolicyRepository(_store.Database), _time);
        await CacheEnforcePolicyAsync();
        var lookup = await otherNode.GetAsync(Domain, Ct);
        Assert.Equal(("v1", true), (lookup.PolicyId, lookup.FromCache));
        Assert.Equal(1, _fetcher.Fetches);
    }

    // The store cannot be read: its table is gone, so every statement fails with the provider's DbException.
    private void BreakTheStore() => _store.Database.Execute("DROP TABLE mta_sts_policies");

    [Fact]
    public async Task AStoreThatCannotBeReadFallsBackOnTheRowThisProcessLastSaw()
    {
        await CacheEnforcePolicyAsync();
        BreakTheStore();
        _fetcher.Discovery = MtaStsDiscovery.NoRecord;
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, true), (lookup.Kind, lookup.Mode, lookup.FromCache));
        Assert.False(lookup.CacheUnreadable);
    }

    [Fact]
    public async Task AStoreThatCannotBeReadWithNoLivePolicyIsUnavailableNeverNoPolicy()
    {
        BreakTheStore();
        var lookup = await Get();
        Assert.Equal(MtaStsLookupKind.Unavailable, lookup.Kind);
        Assert.True(lookup.CacheUnreadable);
        Assert.Contains("could not be read", lookup.Failure);
        Assert.Null(lookup.FailureType);

        _fetcher.Record("v1");
        _fetcher.Fail(MtaStsFailure.FetchError("connection refused"));
        var failed = await Get(); // not remembered: asked again at once
        Assert.Equal((MtaStsLookupKind.Unavailable, true, TlsResultType.PolicyFetchError), (failed.Kind, failed.CacheUnreadable, failed.FailureType));
    }

    [Fact]
    public async Task AStoreThatCannotBeWrittenStillGivesTheFreshPolicy()
    {
        BreakTheStore();
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        var lookup = await Get();
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, false, false), (lookup.Kind, lookup.Mode, lookup.FromCache, lookup.CacheUnreadable));
    }

    [Fact]
    public async Task APolicyIsRefreshedOnceHalfItsMaxAgeHasPassed()
    {
        await CacheEnforcePolicyAsync(); // max_age one day
        _time.Advance(TimeSpan.FromHours(11));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        Assert.Equal(1, _fetcher.Fetches);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
        Assert.Equal(2, _fetcher.Fetches);
        var row = _rows.Get(Domain)!;
        Assert.Equal((_time.GetUtcNow(), _time.GetUtcNow() + TimeSpan.FromDays(1), "v1"), (row.FetchedAt, row.ExpiresAt, row.PolicyId));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
    }

    [Fact]
    public async Task ALongLivedPolicyIsRefreshedDaily()
    {
        _fetcher.Record("v1");
        _fetcher.Serve(Testing.Replace("604800", "31557600"));
        await Get();
        _time.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
    }

    [Fact]
    public async Task AFailedRefreshKeepsThePolicyAndIsRetriedAfterTheBackoff()
    {
        await CacheEnforcePolicyAsync();
        var before = _rows.Get(Domain)!;
        _time.Advance(TimeSpan.FromHours(12));
        _fetcher.Fail(MtaStsFailure.FetchError("connection refused"));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        var after = _rows.Get(Domain)!;
        Assert.Equal((before.Policy, before.ExpiresAt, before.FetchedAt), (after.Policy, after.ExpiresAt, after.FetchedAt));
        Assert.Equal((_time.GetUtcNow(), "sts-policy-fetch-error: connection refused"), (after.CheckedAt, after.LastError));
        Assert.Equal(MtaStsMode.Enforce, (await Get()).Mode);

        _time.Advance(MtaStsPolicyCache.FailedFetchBackoff - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        Assert.Equal(2, _fetcher.Fetches);
        _time.Advance(TimeSpan.FromSeconds(1));
        _fetcher.Serve(Enforce);
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
        Assert.Null(_rows.Get(Domain)!.LastError);
    }

    [Fact]
    public async Task ARefreshWithoutTxtRecordKeepsTheCachedIdAndANewRecordGivesItsId()
    {
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromHours(12));
        _fetcher.Discovery = MtaStsDiscovery.Failed("SERVFAIL");
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
        Assert.Equal("v1", _rows.Get(Domain)!.PolicyId);
        _time.Advance(TimeSpan.FromHours(12));
        _fetcher.Record("v9");
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
        Assert.Equal("v9", _rows.Get(Domain)!.PolicyId);
    }

    [Fact]
    public async Task OfTwoNodesOnlyOneRefreshesADuePolicy()
    {
        var otherNode = new MtaStsPolicyCache(_fetcher, new MtaStsPolicyRepository(_store.Database), _time);
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromHours(12));
        var otherRefreshed = -1;
        _fetcher.DuringFetch = async () =>
        {
            _fetcher.DuringFetch = null;
            otherRefreshed = await otherNode.RefreshDueAsync(Ct); // while this node's refresh is under way
        };
        Assert.Equal(1, await _cache.RefreshDueAsync(Ct));
        Assert.Equal(0, otherRefreshed);
        Assert.Equal(2, _fetcher.Fetches);
    }

    [Fact]
    public async Task ARefreshDoesNotWriteItsOlderPolicyBackOverOneAnotherNodeFetchedMeanwhile()
    {
        var otherNode = new MtaStsPolicyCache(_fetcher, new MtaStsPolicyRepository(_store.Database), _time);
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromHours(12));
        _fetcher.DuringFetch = async () =>
        {
            // This node's refresh has claimed the row, seen id v1 and fetched the old policy; meanwhile the
            // domain publishes v2, and another node's lookup fetches and stores it.
            _fetcher.DuringFetch = null;
            _fetcher.Record("v2");
            _fetcher.Serve(Testing);
            _time.Advance(TimeSpan.FromSeconds(1));
            var other = await otherNode.GetAsync(Domain, Ct);
            Assert.Equal(("v2", false), (other.PolicyId, other.FromCache));
            _time.Advance(TimeSpan.FromSeconds(1));
            _fetcher.Serve(Enforce); // what this node's refresh got: the old policy
        };
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        var row = _rows.Get(Domain)!;
        Assert.Equal(("v2", Testing), (row.PolicyId, row.Policy));
        var lookup = await Get();
        Assert.Equal(("v2", MtaStsMode.Testing, true), (lookup.PolicyId, lookup.Mode, lookup.FromCache));
        Assert.Equal(3, _fetcher.Fetches);
    }

    [Fact]
    public async Task ManyDomainsWithoutAPolicyLeaveABoundedRowMemoryAndALivePolicyStays()
    {
        var cache = new MtaStsPolicyCache(_fetcher, _rows, _time) { SweepAt = 50 };
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        Assert.Equal(MtaStsLookupKind.Policy, (await cache.GetAsync(Domain, Ct)).Kind);
        _fetcher.Discovery = MtaStsDiscovery.NoRecord;
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(MtaStsLookup.None, await cache.GetAsync($"d{i}.example", Ct));
            Assert.InRange(cache.RememberedRows, 1, 50);
        }
        // The store down, the live policy is still known from memory.
        _time.Advance(MtaStsPolicyCache.RecheckInterval);
        BreakTheStore();
        var lookup = await cache.GetAsync(Domain, Ct);
        Assert.Equal((MtaStsLookupKind.Policy, MtaStsMode.Enforce, true), (lookup.Kind, lookup.Mode, lookup.FromCache));
    }

    [Fact]
    public async Task ALookupDoneOrCancelledWhileWaitingLeavesNoResolutionGateBehind()
    {
        _fetcher.Record("v1");
        _fetcher.Serve(Enforce);
        _fetcher.FetchGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Task.Run(() => Get());
        while (_fetcher.Fetches == 0) await Task.Delay(10, Ct);
        using var cancel = new CancellationTokenSource();
        var waiting = _cache.GetAsync(Domain, cancel.Token);
        Assert.Equal(1, _cache.ResolutionGates);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        _fetcher.FetchGate.SetResult();
        Assert.Equal("v1", (await first).PolicyId);
        Assert.Equal(0, _cache.ResolutionGates);
        for (var i = 0; i < 100; i++) await _cache.GetAsync($"d{i}.example", Ct);
        Assert.Equal(0, _cache.ResolutionGates);
    }

    [Fact]
    public async Task ARefreshPassDeletesExpiredPolicies()
    {
        await CacheEnforcePolicyAsync();
        _time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
        Assert.Empty(_rows.All());
    }

    [Fact]
    public async Task ARefreshPassWithABrokenStoreDoesNotThrow()
    {
        await CacheEnforcePolicyAsync();
        BreakTheStore();
        _time.Advance(TimeSpan.FromHours(12));
        Assert.Equal(0, await _cache.RefreshDueAsync(Ct));
    }

    [Fact]
    public void AShortLivedPolicysRetryWaitsAQuarterOfItsLifeAtMost()
    {
        var t = _time.GetUtcNow();
        var row = new MtaStsPolicyRow(Domain, "v1", Enforce, t, t + TimeSpan.FromSeconds(40), t + TimeSpan.FromSeconds(20), "x");
        Assert.False(MtaStsPolicyCache.IsDue(row, t + TimeSpan.FromSeconds(29)));
        Assert.True(MtaStsPolicyCache.IsDue(row, t + TimeSpan.FromSeconds(30)));
        Assert.False(MtaStsPolicyCache.IsDue(row, t + TimeSpan.FromSeconds(40))); // expired: gone, not refreshed
    }
}
