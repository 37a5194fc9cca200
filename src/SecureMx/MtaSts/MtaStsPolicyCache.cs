using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.MtaSts;

/// <summary>
/// Recipient domains' MTA-STS policies for delivery and `probe` (<see cref="IMtaStsPolicySource"/>),
/// following RFC 8461 §5.1 ("Policy Application Control Flow"):
/// <list type="bullet">
/// <item>the TXT id equal to the cached policy's, the policy not expired: the cached policy;</item>
/// <item>another id, or nothing cached: fetch (<see cref="IMtaStsPolicyFetcher"/>) and store the new policy —
/// mode none too, which replaces an older enforce or testing policy;</item>
/// <item>the fetch failed, a cached policy not expired: the cached one, the failure recorded (last_error);
/// without one: <see cref="MtaStsLookupKind.Unavailable"/> (delivery goes on as without MTA-STS, §5);</item>
/// <item>no TXT record (or an invalid one) but a cached policy not expired: still the cached policy — a removed
/// record does not end a policy before its max_age (§5.1, §10.2); without one: no policy;</item>
/// <item>the TXT lookup failed: the cached policy, else Unavailable;</item>
/// <item>an expired policy is never used and is deleted.</item>
/// </list>
/// The policies live in the store (<see cref="MtaStsPolicyRepository"/>: shared by every node of a
/// PostgreSQL store). In front of it a small memory: an answer is reused for <see cref="RecheckInterval"/>
/// (no store read, no DNS query per message), concurrent lookups of one domain share one resolution,
/// and a failed fetch of an id is not tried again for <see cref="FailedFetchBackoff"/> (§3.3).
/// A store that cannot be read is never an exception here: the last row this process saw of the
/// domain stands in for it; when it saw none, a lookup that finds no live policy is Unavailable with
/// <see cref="MtaStsLookup.CacheUnreadable"/> set — a cached enforce policy may exist, and delivery
/// must not take the absence of an answer for the absence of a policy.
/// <see cref="RefreshDueAsync"/> (run by Hosting/MtaStsRefreshService) fetches cached policies again
/// before they expire.
/// </summary>
public sealed class MtaStsPolicyCache : IMtaStsPolicySource
{
    /// <summary>How long an answer is reused before the store and the TXT record are asked again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// RFC 8461 §3.3: after a failed fetch, "implementations may limit further attempts to a period of
    /// five minutes or longer per version ID": the same id is not fetched again sooner (a new id is).
    /// </summary>
    public static readonly TimeSpan FailedFetchBackoff = TimeSpan.FromMinutes(5);

    /// <summary>A cached policy is fetched again at the latest this long after its last check, even when half its max_age is far off (RFC 8461 §10.2).</summary>
    public static readonly TimeSpan RefreshAtLeastEvery = TimeSpan.FromDays(1);

    private readonly IMtaStsPolicyFetcher _fetcher;
    private readonly MtaStsPolicyRepository _store;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    // domain → the last answer and when it was made.
    private readonly ConcurrentDictionary<string, (MtaStsLookup Lookup, DateTimeOffset At)> _answers = new(StringComparer.Ordinal);
    // domain → the last row read from or written to the store (null: it had none); stands in for the store while it is unreachable.
    private readonly ConcurrentDictionary<string, MtaStsPolicyRow?> _rows = new(StringComparer.Ordinal);
    // (domain, id) → the last failed fetch of that id.
    private readonly ConcurrentDictionary<(string Domain, string Id), (DateTimeOffset At, MtaStsFailure Failure)> _failedFetches = new();
    // domain → one resolution at a time; the others wait and take its answer.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _resolving = new(StringComparer.Ordinal);

    public MtaStsPolicyCache(IMtaStsPolicyFetcher fetcher, MtaStsPolicyRepository store, TimeProvider? time = null, ILogger? log = null)
    {
        _fetcher = fetcher;
        _store = store;
        _time = time ?? TimeProvider.System;
        _log = log ?? NullLogger.Instance;
    }

    /// <summary>The source of a running instance (or a command): policies fetched through <paramref name="dns"/> and checked against <paramref name="trust"/>, cached in <paramref name="store"/>.</summary>
    public static MtaStsPolicyCache Create(IMailDnsResolver dns, PkixTrust trust, SecureMxOptions options, StoreDatabase store, TimeProvider? time = null, ILogger? log = null) =>
        new(new MtaStsPolicyFetcher(dns, trust, options, time), new MtaStsPolicyRepository(store), time, log);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <inheritdoc />
    public async Task<MtaStsLookup> GetAsync(string domain, CancellationToken cancellationToken = default)
    {
        domain = domain.TrimEnd('.').ToLowerInvariant();
        if (Remembered(domain) is { } answer) return answer;
        var gate = _resolving.GetOrAdd(domain, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Remembered(domain) is { } meanwhile) return meanwhile; // another caller resolved it while this one waited
            var lookup = await ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
            // An answer made without the store is not kept: the next lookup asks the store again.
            if (!lookup.CacheUnreadable) Remember(domain, lookup);
            return lookup;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Most answers kept; past it, those older than <see cref="RecheckInterval"/> (useless anyway) are swept out.</summary>
    private const int RememberedAnswersSweepAt = 10_000;

    private void Remember(string domain, MtaStsLookup lookup)
    {
        var now = Now;
        _answers[domain] = (lookup, now);
        if (_answers.Count <= RememberedAnswersSweepAt) return;
        foreach (var stale in _answers.Where(a => now - a.Value.At >= RecheckInterval).ToList()) _answers.TryRemove(stale);
    }

    private MtaStsLookup? Remembered(string domain)
    {
        if (!_answers.TryGetValue(domain, out var entry)) return null;
        var now = Now;
        if (now - entry.At >= RecheckInterval || entry.Lookup.ExpiresAt <= now) return null;
        return entry.Lookup;
    }

    private async Task<MtaStsLookup> ResolveAsync(string domain, CancellationToken ct)
    {
        var (cached, storeError) = ReadCached(domain);
        var discovery = await _fetcher.DiscoverAsync(domain, ct).ConfigureAwait(false);
        switch (discovery.Kind)
        {
            case MtaStsDiscoveryKind.TemporaryFailure:
            {
                var failure = MtaStsFailure.FetchError(discovery.Reason ?? "TXT lookup failed");
                if (cached is not null) return FromCache(cached, failure);
                return Unavailable(failure, storeError);
            }
            case MtaStsDiscoveryKind.NoRecord:
            case MtaStsDiscoveryKind.Invalid:
                // RFC 8461 §5.1: without a live policy, a cached unexpired policy still applies.
                if (cached is not null) return FromCache(cached, null); // not a failure: nothing to report
                if (storeError is not null) return CacheUnknown(domain, $"no live policy ({discovery.Reason ?? "no TXT record"})", storeError);
                return discovery.Reason is null ? MtaStsLookup.None : new MtaStsLookup(MtaStsLookupKind.NoPolicy, Failure: discovery.Reason);
        }

        var id = discovery.Record!.Id;
        if (cached is not null && cached.Row.PolicyId == id) return FromCache(cached, null);
        var now = Now;
        if (_failedFetches.TryGetValue((domain, id), out var failed) && now - failed.At < FailedFetchBackoff)
            return cached is not null ? FromCache(cached, failed.Failure) : Unavailable(failed.Failure, storeError);

        var fetched = await _fetcher.FetchAsync(domain, ct).ConfigureAwait(false);
        now = Now;
        if (fetched.Policy is { } policy)
        {
            _failedFetches.TryRemove((domain, id), out _);
            var row = new MtaStsPolicyRow(domain, id, fetched.Body!, now, now + policy.MaxAge, now, null);
            Save(row);
            _log.LogInformation("MTA-STS policy of {Domain} fetched: id {Id}, mode {Mode}, max_age {MaxAge} s{Replaced}", domain, id, policy.Mode.Name(),
                (long)policy.MaxAge.TotalSeconds, cached is null ? "" : $" (replaces id {cached.Row.PolicyId})");
            return new MtaStsLookup(MtaStsLookupKind.Policy, policy, id, row.ExpiresAt, FromCache: false);
        }

        var failure2 = fetched.Failure!;
        RememberFailedFetch(domain, id, now, failure2);
        if (cached is not null)
        {
            _log.LogWarning("MTA-STS policy of {Domain} (id {Id}) could not be fetched; the cached policy (id {CachedId}, until {Expires:O}) stays in use: {Failure}",
                domain, id, cached.Row.PolicyId, cached.Row.ExpiresAt, failure2);
            RecordCheck(domain, now, failure2.ToString());
            return FromCache(cached, failure2);
        }
        _log.LogWarning("MTA-STS policy of {Domain} (id {Id}) could not be fetched and none is cached: {Failure}", domain, id, failure2);
        return Unavailable(failure2, storeError);
    }

    /// <summary>A cached policy not expired at <c>Now</c>, parsed; the store's failure when it could not be read and this process knows nothing of the domain.</summary>
    private (CachedPolicy? Cached, string? StoreError) ReadCached(string domain)
    {
        MtaStsPolicyRow? row;
        string? storeError = null;
        try
        {
            row = _store.Get(domain);
            _rows[domain] = row;
        }
        catch (Exception ex) when (IsStoreFault(ex))
        {
            // The last row this process saw (or knew to be absent) stands in for the store.
            if (!_rows.TryGetValue(domain, out row))
            {
                storeError = $"the MTA-STS policy cache in the store could not be read: {ex.Message}";
                _log.LogWarning("MTA-STS: {Error}", storeError);
            }
        }
        if (row is null) return (null, storeError);
        var now = Now;
        if (row.ExpiresAt <= now)
        {
            // RFC 8461 §5.1: never used past max_age; gone from the store (unless a node has just replaced it).
            _rows[domain] = null;
            TryStore(() => _store.DeleteIfExpired(domain, now));
            return (null, storeError);
        }
        var (policy, error) = MtaStsPolicy.Parse(row.Policy);
        if (policy is null)
        {
            _log.LogWarning("MTA-STS: the cached policy of {Domain} does not parse ({Error}); it is fetched again", domain, error);
            return (null, storeError);
        }
        return (new CachedPolicy(row, policy), storeError);
    }

    /// <summary>
    /// Fetches again, ahead of expiry, the cached policies that are due (RFC 8461 §10.2: a domain mail
    /// goes to regularly never falls out of its policy, and an attacker who suppresses the TXT record
    /// gains nothing): half of max_age gone since the fetch, or <see cref="RefreshAtLeastEvery"/> since
    /// the last check; after a failed attempt not before <see cref="FailedFetchBackoff"/> (at most a
    /// quarter of max_age). On a shared store each due row is claimed first (a compare-and-set of its
    /// checked_at, <see cref="MtaStsPolicyRepository.TryClaim"/>): one node refreshes it. A failure
    /// keeps the old policy and records why. Expired rows are deleted. Returns how many were refreshed.
    /// </summary>
    public async Task<int> RefreshDueAsync(CancellationToken ct)
    {
        var now = Now;
        List<MtaStsPolicyRow> candidates;
        try
        {
            _store.DeleteExpired(now);
            candidates = _store.RefreshCandidates(now, now - RefreshAtLeastEvery);
        }
        catch (Exception ex) when (IsStoreFault(ex))
        {
            _log.LogWarning("MTA-STS refresh skipped: the store could not be read: {Error}", ex.Message);
            return 0;
        }
        var refreshed = 0;
        foreach (var row in candidates)
        {
            ct.ThrowIfCancellationRequested();
            if (!IsDue(row, now)) continue;
            bool claimed;
            try
            {
                claimed = _store.TryClaim(row.Domain, row.CheckedAt, now);
            }
            catch (Exception ex) when (IsStoreFault(ex))
            {
                _log.LogWarning("MTA-STS refresh stopped: the store could not be written: {Error}", ex.Message);
                break;
            }
            if (!claimed) continue; // another node has it
            if (await RefreshAsync(row, ct).ConfigureAwait(false)) refreshed++;
        }
        return refreshed;
    }

    /// <summary>Whether <paramref name="row"/> is due for a refresh at <paramref name="now"/>.</summary>
    public static bool IsDue(MtaStsPolicyRow row, DateTimeOffset now)
    {
        if (row.ExpiresAt <= now) return false;
        var lifetime = row.ExpiresAt - row.FetchedAt;
        var halfLife = row.FetchedAt + lifetime / 2;
        var wanted = now >= halfLife || now - row.CheckedAt >= RefreshAtLeastEvery;
        if (!wanted) return false;
        if (row.CheckedAt <= row.FetchedAt) return true; // no failed attempt since the fetch
        var backoff = lifetime / 4 < FailedFetchBackoff ? lifetime / 4 : FailedFetchBackoff;
        return now - row.CheckedAt >= backoff;
    }

    private async Task<bool> RefreshAsync(MtaStsPolicyRow row, CancellationToken ct)
    {
        var domain = row.Domain;
        // The id of the record if there is one; else the cached one (the record may be suppressed: the policy host still answers for itself).
        var discovery = await _fetcher.DiscoverAsync(domain, ct).ConfigureAwait(false);
        var id = discovery.Record?.Id ?? row.PolicyId;
        var fetched = await _fetcher.FetchAsync(domain, ct).ConfigureAwait(false);
        var now = Now;
        if (fetched.Policy is { } policy)
        {
            var fresh = new MtaStsPolicyRow(domain, id, fetched.Body!, now, now + policy.MaxAge, now, null);
            Save(fresh);
            _answers.TryRemove(domain, out _);
            _failedFetches.TryRemove((domain, id), out _);
            _log.LogInformation("MTA-STS policy of {Domain} refreshed: id {Id}, mode {Mode}, until {Expires:O}", domain, id, policy.Mode.Name(), fresh.ExpiresAt);
            return true;
        }
        _log.LogWarning("MTA-STS policy of {Domain} could not be refreshed; the cached one (id {Id}) stays in use until {Expires:O}: {Failure}",
            domain, row.PolicyId, row.ExpiresAt, fetched.Failure);
        RecordCheck(domain, now, fetched.Failure!.ToString());
        return false;
    }

    private void Save(MtaStsPolicyRow row)
    {
        _rows[row.Domain] = row;
        TryStore(() => _store.Save(row));
    }

    private void RecordCheck(string domain, DateTimeOffset now, string failure)
    {
        if (_rows.TryGetValue(domain, out var known) && known is not null) _rows[domain] = known with { CheckedAt = now, LastError = failure };
        TryStore(() => _store.RecordCheck(domain, now, failure));
    }

    private void RememberFailedFetch(string domain, string id, DateTimeOffset now, MtaStsFailure failure)
    {
        _failedFetches[(domain, id)] = (now, failure);
        if (_failedFetches.Count <= 1000) return;
        foreach (var old in _failedFetches.Where(f => now - f.Value.At >= FailedFetchBackoff).ToList()) _failedFetches.TryRemove(old.Key, out _);
    }

    /// <summary>A write the lookup does not depend on: a store fault is logged, never thrown.</summary>
    private void TryStore(Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (IsStoreFault(ex))
        {
            _log.LogWarning("MTA-STS: the policy cache in the store could not be written: {Error}", ex.Message);
        }
    }

    private static bool IsStoreFault(Exception ex) => ex is DbException || StoreDatabase.IsUnreachable(ex);

    private static MtaStsLookup FromCache(CachedPolicy cached, MtaStsFailure? failure) =>
        new(MtaStsLookupKind.Policy, cached.Policy, cached.Row.PolicyId, cached.Row.ExpiresAt, FromCache: true, Failure: failure?.ToString())
        {
            FailureType = failure?.Type,
        };

    private static MtaStsLookup Unavailable(MtaStsFailure failure, string? storeError) =>
        new(MtaStsLookupKind.Unavailable, Failure: storeError is null ? failure.ToString() : $"{failure}; {storeError}")
        {
            FailureType = failure.Type,
            CacheUnreadable = storeError is not null,
        };

    private static MtaStsLookup CacheUnknown(string domain, string what, string storeError) =>
        new(MtaStsLookupKind.Unavailable, Failure: $"{domain}: {what}; {storeError}") { CacheUnreadable = true };

    private sealed record CachedPolicy(MtaStsPolicyRow Row, MtaStsPolicy Policy);
}
