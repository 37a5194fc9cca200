using SecureMx.Store;

namespace SecureMx.Dkim;

/// <summary>
/// The DKIM keys of the hosted domains in the store (<c>dkim_keys</c>): which selectors exist, their
/// algorithm, state and public key. Shared by every node of a shared store; the private halves are
/// elsewhere (<see cref="DkimPrivateKeyStore"/>). Read at each signed message, so a change by the CLI
/// takes effect at the next message, without a restart.
/// </summary>
public sealed class DkimKeyRepository(StoreDatabase db, TimeProvider time)
{
    private const string Columns = "domain, selector, algorithm, state, created_at, public_key, state_changed_at";

    public StoreDatabase Database => db;

    public bool IsHosted(string domain) => db.Rows("SELECT 1 FROM domains WHERE name=@d", _ => true, ("@d", domain)).Count > 0;

    /// <summary>Every key, or those of one domain, by domain, then newest first.</summary>
    public List<DkimKey> List(string? domain = null) =>
        domain is null
            ? db.Rows($"SELECT {Columns} FROM dkim_keys ORDER BY domain, created_at DESC, selector", Read)
            : db.Rows($"SELECT {Columns} FROM dkim_keys WHERE domain=@d ORDER BY created_at DESC, selector", Read, ("@d", domain));

    /// <summary>The keys that sign the domain's mail now, RSA first (the older kind, which every verifier knows).</summary>
    public List<DkimKey> Active(string domain) =>
        db.Rows($"SELECT {Columns} FROM dkim_keys WHERE domain=@d AND state=@s ORDER BY algorithm DESC, created_at, selector", Read,
            ("@d", domain), ("@s", DkimKeyState.Active.Name()));

    /// <summary>Adds a key; a selector the domain already has is a <see cref="StoreException"/>.</summary>
    public void Add(DkimKey key)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var n = db.Execute(
            "INSERT INTO dkim_keys(domain, selector, algorithm, state, created_at, state_changed_at, public_key) VALUES(@d, @s, @a, @st, @c, @now, @p) ON CONFLICT DO NOTHING",
            ("@d", key.Domain), ("@s", key.Selector), ("@a", key.Algorithm.Name()), ("@st", key.State.Name()),
            ("@c", key.CreatedAt.ToUnixTimeMilliseconds()), ("@now", now), ("@p", key.PublicKey));
        if (n == 0) throw new StoreException($"{key.Domain} already has a DKIM key with selector {key.Selector}");
    }

    /// <summary>
    /// Moves a key from <paramref name="from"/> to <paramref name="to"/>; false when it is not (or no longer) in
    /// <paramref name="from"/> — several nodes may run the same rotation check, and only one moves each key.
    /// </summary>
    public bool SetState(string domain, string selector, DkimKeyState from, DkimKeyState to) =>
        db.Execute("UPDATE dkim_keys SET state=@to, state_changed_at=@now WHERE domain=@d AND selector=@s AND state=@from",
            ("@to", to.Name()), ("@now", time.GetUtcNow().ToUnixTimeMilliseconds()), ("@d", domain), ("@s", selector), ("@from", from.Name())) > 0;

    /// <summary>Every key in <paramref name="state"/>, of every domain.</summary>
    public List<DkimKey> InState(DkimKeyState state) =>
        db.Rows($"SELECT {Columns} FROM dkim_keys WHERE state=@s ORDER BY domain, created_at, selector", Read, ("@s", state.Name()));

    /// <summary>Removes a key's row; false when there is none.</summary>
    public bool Remove(string domain, string selector) =>
        db.Execute("DELETE FROM dkim_keys WHERE domain=@d AND selector=@s", ("@d", domain), ("@s", selector)) > 0;

    private static DkimKey Read(System.Data.Common.DbDataReader r)
    {
        if (!DkimAlgorithms.TryParse(r.GetString(2), out var algorithm)) throw new StoreException($"dkim_keys: unknown algorithm '{r.GetString(2)}'");
        if (!DkimKeyStates.TryParse(r.GetString(3), out var state)) throw new StoreException($"dkim_keys: unknown state '{r.GetString(3)}'");
        return new DkimKey(r.GetString(0), r.GetString(1), algorithm, state, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.GetString(5))
        {
            StateChangedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
        };
    }
}
