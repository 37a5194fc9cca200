using System.Data.Common;

namespace SecureMx.Store;

/// <summary>
/// The cache of recipient domains' MTA-STS policies (RFC 8461 §5.1) in the store: one row per
/// domain, shared by every node of a shared store (the last fetch wins, ON CONFLICT update). Times
/// are Unix milliseconds. What a row means — and when it is used, refreshed or dropped — is
/// MtaSts/MtaStsPolicyCache's business; here only the SQL.
/// </summary>
public sealed class MtaStsPolicyRepository(StoreDatabase db)
{
    private const string Columns = "domain, policy_id, policy, fetched_at, expires_at, checked_at, last_error";

    /// <summary>The cached policy of <paramref name="domain"/>, expired or not; null when none.</summary>
    public MtaStsPolicyRow? Get(string domain) =>
        db.Rows($"SELECT {Columns} FROM mta_sts_policies WHERE domain=@d", Read, ("@d", domain)).SingleOrDefault();

    /// <summary>Every cached policy, by domain (`policy show`, the tests).</summary>
    public List<MtaStsPolicyRow> All() => db.Rows($"SELECT {Columns} FROM mta_sts_policies ORDER BY domain", Read);

    /// <summary>Stores a freshly fetched policy: a new row, or in place of the domain's old one (last_error cleared).</summary>
    public void Save(MtaStsPolicyRow row) => db.Execute($"""
        INSERT INTO mta_sts_policies({Columns}) VALUES(@d, @id, @p, @f, @e, @c, @err)
        ON CONFLICT(domain) DO UPDATE SET policy_id=excluded.policy_id, policy=excluded.policy, fetched_at=excluded.fetched_at,
          expires_at=excluded.expires_at, checked_at=excluded.checked_at, last_error=excluded.last_error
        """, ("@d", row.Domain), ("@id", row.PolicyId), ("@p", row.Policy), ("@f", Ms(row.FetchedAt)), ("@e", Ms(row.ExpiresAt)),
        ("@c", Ms(row.CheckedAt)), ("@err", row.LastError));

    /// <summary>Records a check that did not replace the policy (a failed fetch or refresh): when, and the failure (null: none). False when the domain has no row.</summary>
    public bool RecordCheck(string domain, DateTimeOffset checkedAt, string? lastError) =>
        db.Execute("UPDATE mta_sts_policies SET checked_at=@c, last_error=@err WHERE domain=@d",
            ("@d", domain), ("@c", Ms(checkedAt)), ("@err", lastError)) > 0;

    /// <summary>
    /// Claims the refresh of <paramref name="domain"/> for this node: sets checked_at to
    /// <paramref name="now"/> only if it is still <paramref name="seenCheckedAt"/>, the value read
    /// when the row was found due. Of several nodes that found it due, exactly one gets true.
    /// </summary>
    public bool TryClaim(string domain, DateTimeOffset seenCheckedAt, DateTimeOffset now) =>
        db.Execute("UPDATE mta_sts_policies SET checked_at=@now WHERE domain=@d AND checked_at=@seen",
            ("@d", domain), ("@seen", Ms(seenCheckedAt)), ("@now", Ms(now))) > 0;

    /// <summary>
    /// Unexpired policies that may want a refresh: half of their lifetime (max_age) gone, or not
    /// checked since <paramref name="checkedBefore"/>. The caller decides on each (back-off after a failure).
    /// </summary>
    public List<MtaStsPolicyRow> RefreshCandidates(DateTimeOffset now, DateTimeOffset checkedBefore) =>
        db.Rows($"""
            SELECT {Columns} FROM mta_sts_policies
            WHERE expires_at > @now AND ((fetched_at + expires_at) / 2 <= @now OR checked_at <= @before)
            ORDER BY expires_at
            """, Read, ("@now", Ms(now)), ("@before", Ms(checkedBefore)));

    /// <summary>Deletes the policy of <paramref name="domain"/> if it has expired at <paramref name="now"/> (not one a node has just replaced).</summary>
    public bool DeleteIfExpired(string domain, DateTimeOffset now) =>
        db.Execute("DELETE FROM mta_sts_policies WHERE domain=@d AND expires_at <= @now", ("@d", domain), ("@now", Ms(now))) > 0;

    /// <summary>Deletes every expired policy (RFC 8461 §5.1: a policy is not used past max_age); returns how many.</summary>
    public int DeleteExpired(DateTimeOffset now) => db.Execute("DELETE FROM mta_sts_policies WHERE expires_at <= @now", ("@now", Ms(now)));

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static MtaStsPolicyRow Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), r.IsDBNull(6) ? null : r.GetString(6));
}
