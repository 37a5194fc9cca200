using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Auth;

/// <summary>
/// The login throttle of nodes that share one store: the rules of <see cref="LoginThrottle"/> (per client
/// address or IPv6 /64, per account name, known-good pairs spared from the account block), with the
/// failures in <c>login_failures</c> and the known-good pairs in <c>login_known_good</c>, so that a
/// guesser gets as many attempts from N nodes behind one name as from one node.
/// <para>
/// Only for a shared store: on a single box the in-memory <see cref="LoginThrottle"/> counts the same
/// (one process sees every login) without a store write, and an fsync, for each failure.
/// </para>
/// <para>
/// Fail-closed: when the store cannot be read or written, every method throws, and the login is
/// refused before any password is looked at (<see cref="AccountAuthenticator"/>: SMTP AUTH answers
/// 454 4.7.0, the dashboard 503, the Dovecot policy "refused"). An attacker who can make the store
/// unreachable (a flood of connections to it, a cut link) must not gain unlimited guesses by it; a user
/// with the right password loses nothing that was there to lose, since the password hashes live in
/// the same store.
/// </para>
/// Rows older than the window are deleted at most once per <see cref="PruneEvery"/> per node.
/// </summary>
public sealed class StoreLoginThrottle(StoreDatabase db, TimeProvider time, TimeSpan window, int maxPerIp, int maxPerAccount) : ILoginThrottle
{
    public static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    private const string ByIp = "ip";
    private const string ByAccount = "account";

    private long _prunedAt;

    public LoginThrottle.Verdict Check(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var since = Since();
        using var c = db.Connect();
        if (Failures(c, ByIp, ip, since) >= maxPerIp) return LoginThrottle.Verdict.IpBlocked;
        if (Failures(c, ByAccount, account, since) >= maxPerAccount &&
            Convert.ToInt64(c.Scalar("SELECT COUNT(*) FROM login_known_good WHERE account = @account AND ip_key = @ip AND at > @since",
                ("@account", account), ("@ip", ip), ("@since", since))) == 0)
        {
            return LoginThrottle.Verdict.AccountBlocked;
        }
        return LoginThrottle.Verdict.Allowed;
    }

    public void RecordFailure(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var c = db.Connect();
        c.Execute("INSERT INTO login_failures(kind, key, at) VALUES(@ip_kind, @ip, @now), (@account_kind, @account, @now)",
            ("@ip_kind", ByIp), ("@ip", ip), ("@account_kind", ByAccount), ("@account", account), ("@now", now));
        PruneOccasionally(c, now);
    }

    public void RecordSuccess(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var c = db.Connect();
        c.Execute("DELETE FROM login_failures WHERE kind = @kind AND key = @ip", ("@kind", ByIp), ("@ip", ip));
        c.Execute("INSERT INTO login_known_good(account, ip_key, at) VALUES(@account, @ip, @now) ON CONFLICT(account, ip_key) DO UPDATE SET at = excluded.at",
            ("@account", account), ("@ip", ip), ("@now", now));
    }

    private static long Failures(StoreConnection c, string kind, string key, long since) =>
        Convert.ToInt64(c.Scalar("SELECT COUNT(*) FROM login_failures WHERE kind = @kind AND key = @key AND at > @since",
            ("@kind", kind), ("@key", key), ("@since", since)));

    /// <summary>A failure counts while it is younger than the window (as in <see cref="LoginThrottle"/>).</summary>
    private long Since() => (time.GetUtcNow() - window).ToUnixTimeMilliseconds();

    private void PruneOccasionally(StoreConnection c, long now)
    {
        var last = Interlocked.Read(ref _prunedAt);
        if (now - last < (long)PruneEvery.TotalMilliseconds || Interlocked.CompareExchange(ref _prunedAt, now, last) != last) return;
        var since = now - (long)window.TotalMilliseconds;
        c.Execute("DELETE FROM login_failures WHERE at <= @since", ("@since", since));
        c.Execute("DELETE FROM login_known_good WHERE at <= @since", ("@since", since));
    }
}
