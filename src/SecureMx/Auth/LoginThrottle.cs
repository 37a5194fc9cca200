using SecureMx.Mail;

namespace SecureMx.Auth;

/// <summary>
/// Counts failed logins per client (an IPv4 address or an IPv6 /64, <see cref="ClientAddress.LimitKey(string)"/>) and per account name within a sliding window, and
/// says when further logins are refused. Both counters apply whether or not the account exists,
/// so the block itself tells nothing about which names are real.
/// The per-account block spares addresses the account logged in from successfully within the
/// window: somebody guessing a password cannot lock its owner out of a client that already works.
/// In memory: the throttle of a node whose store is its own (SQLite); nodes that share a store share
/// <see cref="StoreLoginThrottle"/> instead.
/// </summary>
public sealed class LoginThrottle(TimeProvider time, TimeSpan window, int maxPerIp, int maxPerAccount) : ILoginThrottle
{
    // Bounds memory under a flood of distinct names or addresses (beyond it, some entry is dropped).
    private const int MaxTracked = 100_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byIp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byAccount = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Account, string Ip), DateTimeOffset> _knownGood = new();
    private int _calls;

    public enum Verdict { Allowed, IpBlocked, AccountBlocked }

    /// <summary>Checked before a password is verified: a blocked login is refused without looking at it.</summary>
    public Verdict Check(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            PruneOccasionally(now);
            if (Count(_byIp, ip, now) >= maxPerIp) return Verdict.IpBlocked;
            if (Count(_byAccount, account, now) >= maxPerAccount &&
                !(_knownGood.TryGetValue((account, ip), out var at) && now - at < window))
            {
                return Verdict.AccountBlocked;
            }
            return Verdict.Allowed;
        }
    }

    public void RecordFailure(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            Add(_byIp, ip, now);
            Add(_byAccount, account, now);
        }
    }

    /// <summary>A successful login forgives the address its earlier typos, and marks it as one the account uses.</summary>
    public void RecordSuccess(string ip, string account)
    {
        ip = ClientAddress.LimitKey(ip);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _byIp.Remove(ip);
            if (_knownGood.Count >= MaxTracked) _knownGood.Clear();
            _knownGood[(account, ip)] = now;
        }
    }

    private int Count(Dictionary<string, Queue<DateTimeOffset>> map, string key, DateTimeOffset now)
    {
        if (!map.TryGetValue(key, out var q)) return 0;
        while (q.Count > 0 && now - q.Peek() >= window) q.Dequeue();
        if (q.Count == 0) map.Remove(key);
        return q.Count;
    }

    private void Add(Dictionary<string, Queue<DateTimeOffset>> map, string key, DateTimeOffset now)
    {
        if (!map.TryGetValue(key, out var q))
        {
            if (map.Count >= MaxTracked) map.Remove(map.Keys.First());
            map[key] = q = new Queue<DateTimeOffset>();
        }
        q.Enqueue(now);
        // Only the newest failures matter for a block; a flood must not grow one queue without bound.
        while (q.Count > Math.Max(maxPerIp, maxPerAccount)) q.Dequeue();
    }

    private void PruneOccasionally(DateTimeOffset now)
    {
        if (++_calls % 1024 != 0) return;
        foreach (var map in new[] { _byIp, _byAccount })
        {
            foreach (var key in map.Keys.ToList()) Count(map, key, now);
        }
        foreach (var (key, at) in _knownGood.ToList())
        {
            if (now - at >= window) _knownGood.Remove(key);
        }
    }
}
