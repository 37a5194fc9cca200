using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SecureMx.Store;

/// <summary>What the store says about the session id a dashboard cookie carries.</summary>
public enum DashboardSessionState
{
    /// <summary>Open, not past its absolute lifetime, and its mailbox still exists.</summary>
    Active,
    /// <summary>No such session for this account (never made here, pruned, or its mailbox is gone).</summary>
    Unknown,
    /// <summary>Ended on the server: logout, password change, role change, mailbox removal.</summary>
    Revoked,
    /// <summary>Past its absolute lifetime (dashboard.sessionMaxLifetime), however active it was.</summary>
    Expired,
}

/// <summary>
/// Dashboard sessions on the server, so that ending one does not depend on the browser forgetting a
/// cookie: the cookie carries a random id, the store keeps only its SHA-256 with the account, the
/// times and whether it was revoked. Every request checks its id here (one lookup by primary key);
/// a logout revokes it, a password change, a role change or the removal of the mailbox revoke all
/// sessions of the account (in the same transaction as the change: see <see cref="RevokeAll"/>).
/// Rows past their absolute lifetime are pruned at each login.
/// </summary>
public sealed class DashboardSessionRepository(StoreDatabase db, TimeProvider time, ILogger? log = null)
{
    /// <summary>last_seen_at is written at most this often per session, so a page view is not a write.</summary>
    public static readonly TimeSpan LastSeenResolution = TimeSpan.FromMinutes(1);

    private readonly ILogger _log = log ?? NullLogger.Instance;

    // 1 while last_seen_at cannot be written: the failure is logged once, not once a minute per session.
    private int _lastSeenFailing;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens a session for <paramref name="account"/> that ends after <paramref name="maxLifetime"/> at the latest; returns its id (for the cookie only).</summary>
    public string Start(string account, TimeSpan maxLifetime)
    {
        var id = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = Now;
        using var c = db.Connect();
        c.BeginWrite();
        c.Execute("DELETE FROM dashboard_sessions WHERE expires_at <= @now", ("@now", now));
        c.Execute("INSERT INTO dashboard_sessions(id_hash, account, created_at, last_seen_at, expires_at) VALUES(@h, @a, @now, @now, @exp)",
            ("@h", HashOf(id)), ("@a", account), ("@now", now), ("@exp", now + (long)maxLifetime.TotalMilliseconds));
        c.Commit();
        return id;
    }

    /// <summary>Whether the session <paramref name="id"/> of <paramref name="account"/> may continue; records that it was seen.</summary>
    public DashboardSessionState Check(string id, string account)
    {
        var hash = HashOf(id);
        var now = Now;
        using var c = db.Connect();
        var row = c.Rows("""
            SELECT s.account, s.last_seen_at, s.expires_at, s.revoked_at, CASE WHEN m.address IS NOT NULL THEN 1 ELSE 0 END
            FROM dashboard_sessions s LEFT JOIN mailboxes m ON m.address = s.account
            WHERE s.id_hash=@h
            """, r => (Account: r.GetString(0), LastSeen: r.GetInt64(1), Expires: r.GetInt64(2), Revoked: !r.IsDBNull(3), MailboxExists: r.GetInt64(4) == 1),
            ("@h", hash)).SingleOrDefault();
        if (row.Account is null || !string.Equals(row.Account, account, StringComparison.Ordinal) || !row.MailboxExists) return DashboardSessionState.Unknown;
        if (row.Revoked) return DashboardSessionState.Revoked;
        if (now >= row.Expires) return DashboardSessionState.Expired;
        if (now - row.LastSeen >= (long)LastSeenResolution.TotalMilliseconds) RecordSeen(c, hash, now);
        return DashboardSessionState.Active;
    }

    /// <summary>
    /// last_seen_at is advisory (nothing decides by it): when it cannot be written — a full disk,
    /// exactly when the operator needs the dashboard's low-disk warning — the request goes on.
    /// </summary>
    private void RecordSeen(StoreConnection c, string hash, long now)
    {
        try
        {
            c.Execute("UPDATE dashboard_sessions SET last_seen_at=@now WHERE id_hash=@h", ("@h", hash), ("@now", now));
            Interlocked.Exchange(ref _lastSeenFailing, 0);
        }
        catch (DbException ex)
        {
            if (Interlocked.Exchange(ref _lastSeenFailing, 1) == 0)
                _log.LogDebug("dashboard session last-seen time not recorded (the session goes on): {Error}", ex.Message);
        }
    }

    /// <summary>Ends one session (a logout); false when it was not open.</summary>
    public bool Revoke(string id, string reason) =>
        db.Execute("UPDATE dashboard_sessions SET revoked_at=@now, revoked_reason=@r WHERE id_hash=@h AND revoked_at IS NULL",
            ("@h", HashOf(id)), ("@now", Now), ("@r", reason)) > 0;

    /// <summary>
    /// Ends every open session of <paramref name="account"/> but <paramref name="exceptId"/>, on the
    /// caller's connection (inside the transaction of the change that requires it). Returns how many.
    /// </summary>
    internal static int RevokeAll(StoreConnection c, long now, string account, string reason, string? exceptId = null) =>
        c.Execute("UPDATE dashboard_sessions SET revoked_at=@now, revoked_reason=@r WHERE account=@a AND revoked_at IS NULL AND (CAST(@keep AS TEXT) IS NULL OR id_hash <> @keep)",
            ("@a", account), ("@now", now), ("@r", reason), ("@keep", exceptId is null ? null : HashOf(exceptId)));

    /// <summary>Ends every open session of <paramref name="account"/> but <paramref name="exceptId"/>; returns how many.</summary>
    public int RevokeAll(string account, string reason, string? exceptId = null)
    {
        using var c = db.Connect();
        return RevokeAll(c, Now, account, reason, exceptId);
    }

    /// <summary>Deletes the rows past their absolute lifetime (revoked or not); returns how many.</summary>
    public int Prune() => db.Execute("DELETE FROM dashboard_sessions WHERE expires_at <= @now", ("@now", Now));

    /// <summary>Open sessions of an account (for tests and the operator's curiosity).</summary>
    public int CountOpen(string account) =>
        Convert.ToInt32(db.Scalar("SELECT COUNT(*) FROM dashboard_sessions WHERE account=@a AND revoked_at IS NULL AND expires_at > @now", ("@a", account), ("@now", Now)),
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What the store keeps of a session id: its SHA-256, hex.</summary>
    public static string HashOf(string id) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
