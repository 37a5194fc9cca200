using System.Text;
using SecureMx.Mail;

namespace SecureMx.Store;

public sealed record MailboxInfo(string Address, string Domain, string Maildir, DateTimeOffset CreatedAt);

public sealed record AliasInfo(string Address, string Target);

/// <summary>A hosted mailbox that mail for an address is delivered to, and its Maildir (relative to the data directory).</summary>
public sealed record LocalTarget(string Address, string Maildir);

/// <summary>
/// What a hosted domain says about some candidate addresses: its inbound TLS switch, the first
/// candidate that names a mailbox or an alias (null when none does) and the mailboxes it delivers to.
/// </summary>
public sealed record RecipientLookup(InboundTlsSetting InboundTls, string? Match, bool IsAlias, IReadOnlyList<LocalTarget> Targets);

/// <summary>
/// Hosted domains, their mailboxes (with password hashes) and aliases, and the recipient lookup
/// the server makes at every RCPT. Addresses are stored as <see cref="EnvelopeAddress.LookupKey"/>
/// (lower-case local part, A-label domain); callers pass them in that form.
/// <para>
/// With a <paramref name="directory"/> (several nodes on one PostgreSQL store) the hot-path reads —
/// <see cref="LookupRecipient"/>, <see cref="ResolveLocal"/>, <see cref="AddressBelongsTo"/>,
/// <see cref="MailboxLanguage"/>, <see cref="IsHosted"/> — answer from its snapshot; a miss the
/// snapshot cannot vouch for (<see cref="DirectoryReading.Authoritative"/>) is asked of the store.
/// Every change made here invalidates it. Without one, every read is a query.
/// </para>
/// </summary>
public sealed class MailboxRepository(StoreDatabase db, TimeProvider time, DirectoryCache? directory = null)
{
    public string DataDirectory => db.DataDirectory;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- domains ----

    public void AddDomain(string domain)
    {
        if (db.Execute("INSERT INTO domains(name, created_at) VALUES(@d, @now) ON CONFLICT DO NOTHING", ("@d", domain), ("@now", Now)) == 0)
            throw new StoreException($"domain {domain} already exists");
        directory?.Invalidate();
    }

    /// <summary>Stops hosting a domain with no mailbox or alias left; its administrators lose that role.</summary>
    public void RemoveDomain(string domain)
    {
        using var c = db.Connect();
        c.BeginWrite();
        var n = Convert.ToInt64(c.Scalar("SELECT (SELECT COUNT(*) FROM mailboxes WHERE domain=@d) + (SELECT COUNT(*) FROM aliases WHERE domain=@d)", ("@d", domain)));
        if (n > 0) throw new StoreException($"domain {domain} still has {n} mailbox(es)/alias(es); remove them first");
        if (c.Execute("DELETE FROM domains WHERE name=@d", ("@d", domain)) == 0) throw new StoreException($"domain {domain} does not exist");
        // Losing a role ends the administrators' dashboard sessions, as any role change does.
        foreach (var admin in c.Rows("SELECT address FROM domain_admins WHERE domain=@d", r => r.GetString(0), ("@d", domain)))
            DashboardSessionRepository.RevokeAll(c, Now, admin, "role changed");
        c.Execute("DELETE FROM domain_admins WHERE domain=@d", ("@d", domain));
        c.Commit();
        directory?.Invalidate();
    }

    public List<string> ListDomains() => db.Rows("SELECT name FROM domains ORDER BY name", r => r.GetString(0));

    public bool IsHosted(string domain) =>
        directory?.Current is { } d && (d.Snapshot.IsHosted(domain) || d.Authoritative)
            ? d.Snapshot.IsHosted(domain)
            : db.LookupScalar("SELECT 1 FROM domains WHERE name=@d", ("@d", domain)) is not null;

    // ---- mailboxes ----

    /// <summary>The Maildir of a mailbox, relative to the data directory: mail/DOMAIN/LOCAL (local part made file-name safe).</summary>
    public static string MaildirFor(string localPart, string domain)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(localPart.ToLowerInvariant()))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' || (c == '.' && sb.Length > 0)) sb.Append(c);
            else sb.Append('%').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return Path.Combine("mail", domain, sb.ToString());
    }

    /// <summary>Creates a mailbox; its local part must meet <see cref="MailboxAddressRule"/>.</summary>
    public MailboxInfo AddMailbox(string localPart, string domain, string passwordHash)
    {
        RequireCreatableLocalPart(localPart, "mailbox");
        var address = localPart.ToLowerInvariant() + "@" + domain;
        var maildir = MaildirFor(localPart, domain);
        using var c = db.Connect();
        c.BeginWrite();
        RequireDomain(c, domain);
        if (c.Scalar("SELECT 1 FROM aliases WHERE address=@a", ("@a", address)) is not null) throw new StoreException($"{address} is an alias; remove the alias first");
        var added = c.Execute("INSERT INTO mailboxes(address, domain, password_hash, maildir, created_at) VALUES(@a, @d, @h, @m, @now) ON CONFLICT DO NOTHING",
            ("@a", address), ("@d", domain), ("@h", passwordHash), ("@m", maildir), ("@now", Now));
        if (added == 0) throw new StoreException($"mailbox {address} already exists");
        c.Commit();
        directory?.Invalidate();
        return new MailboxInfo(address, domain, maildir, time.GetUtcNow());
    }

    /// <summary>Removes a mailbox no alias points at; its dashboard roles and sessions go with it.</summary>
    public void RemoveMailbox(string address)
    {
        using var c = db.Connect();
        c.BeginWrite();
        var aliases = c.Rows("SELECT address FROM aliases WHERE target=@a ORDER BY address", r => r.GetString(0), ("@a", address));
        if (aliases.Count > 0) throw new StoreException($"mailbox {address} is the target of alias(es) {string.Join(", ", aliases)}; remove them first");
        if (c.Execute("DELETE FROM mailboxes WHERE address=@a", ("@a", address)) == 0) throw new StoreException($"mailbox {address} does not exist");
        // A role never outlives its mailbox: a new mailbox of the same name must not inherit it.
        c.Execute("DELETE FROM system_admins WHERE address=@a; DELETE FROM domain_admins WHERE address=@a;", ("@a", address));
        // Nor a dashboard session.
        DashboardSessionRepository.RevokeAll(c, Now, address, "mailbox removed");
        c.Commit();
        directory?.Invalidate();
    }

    public List<MailboxInfo> ListMailboxes(string? domain = null) =>
        db.Rows("SELECT address, domain, maildir, created_at FROM mailboxes WHERE CAST(@d AS TEXT) IS NULL OR domain=@d ORDER BY domain, address",
            r => new MailboxInfo(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3)), ("@d", domain));

    public MailboxInfo? FindMailbox(string address) =>
        db.Rows("SELECT address, domain, maildir, created_at FROM mailboxes WHERE address=@a",
            r => new MailboxInfo(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3)), ("@a", address)).SingleOrDefault();

    /// <summary>The stored password hash of a mailbox, or null when no such mailbox exists.</summary>
    public string? FindPasswordHash(string address) => db.Scalar("SELECT password_hash FROM mailboxes WHERE address=@a", ("@a", address)) as string;

    /// <summary>
    /// A new password: replaces the hash (effective for the next login, also on a running server) and
    /// ends every dashboard session of the mailbox but <paramref name="keepDashboardSession"/> (the one
    /// that made the change, if any), in one transaction.
    /// </summary>
    public void SetPasswordHash(string address, string passwordHash, string? keepDashboardSession = null)
    {
        using var c = db.Connect();
        c.BeginWrite();
        if (c.Execute("UPDATE mailboxes SET password_hash=@h WHERE address=@a", ("@a", address), ("@h", passwordHash)) == 0)
            throw new StoreException($"mailbox {address} does not exist");
        DashboardSessionRepository.RevokeAll(c, Now, address, "password changed", keepDashboardSession);
        c.Commit();
    }

    /// <summary>The same password in a newer hash format (at a login): no session ends.</summary>
    public void UpgradePasswordHash(string address, string passwordHash)
    {
        if (db.Execute("UPDATE mailboxes SET password_hash=@h WHERE address=@a", ("@a", address), ("@h", passwordHash)) == 0)
            throw new StoreException($"mailbox {address} does not exist");
    }

    /// <summary>The language of the mail SecureMx writes to a mailbox, or null when no such mailbox exists.</summary>
    public MailLanguage? MailboxLanguage(string address) =>
        directory?.Current is { } d && (d.Snapshot.MailboxLanguage(address) is not null || d.Authoritative) ? d.Snapshot.MailboxLanguage(address) :
        db.LookupScalar("SELECT language FROM mailboxes WHERE address=@a", ("@a", address)) is string s ? ParseLanguage(s) : null;

    /// <summary>Sets the language of the mail SecureMx writes to a mailbox; the next DSN uses it, also on a running server.</summary>
    public void SetMailboxLanguage(string address, MailLanguage language)
    {
        if (db.Execute("UPDATE mailboxes SET language=@l WHERE address=@a", ("@a", address), ("@l", language.Name())) == 0)
            throw new StoreException($"mailbox {address} does not exist");
        directory?.Invalidate();
    }

    /// <summary>A word this version does not know (written by a newer one) reads as the default.</summary>
    internal static MailLanguage ParseLanguage(string stored) => MailLanguages.TryParse(stored, out var l) ? l : MailLanguage.English;

    /// <summary>Whether <paramref name="address"/> is the mailbox <paramref name="account"/> itself or an alias that delivers to it.</summary>
    public bool AddressBelongsTo(string address, string account) =>
        directory?.Current is { } d && (d.Snapshot.AddressBelongsTo(address, account) || d.Authoritative) ? d.Snapshot.AddressBelongsTo(address, account)
        : address == account
        ? db.LookupScalar("SELECT 1 FROM mailboxes WHERE address=@a", ("@a", account)) is not null
        : db.LookupScalar("SELECT 1 FROM aliases WHERE address=@a AND target=@t", ("@a", address), ("@t", account)) is not null;

    // ---- aliases ----

    /// <summary>Adds a target to an alias; a new alias address must meet <see cref="MailboxAddressRule"/> (an existing one keeps working).</summary>
    public void AddAlias(string address, string domain, string target)
    {
        using var c = db.Connect();
        c.BeginWrite();
        RequireDomain(c, domain);
        if (c.Scalar("SELECT 1 FROM aliases WHERE address=@a", ("@a", address)) is null)
            RequireCreatableLocalPart(address[..Math.Max(0, address.LastIndexOf('@'))], "alias");
        if (c.Scalar("SELECT 1 FROM mailboxes WHERE address=@a", ("@a", address)) is not null) throw new StoreException($"{address} is a mailbox; an alias cannot have the same address");
        // An alias points only at hosted mailboxes: no message accepted for it may be stranded.
        if (c.Scalar("SELECT 1 FROM mailboxes WHERE address=@t", ("@t", target)) is null) throw new StoreException($"alias target {target} is not a hosted mailbox");
        var added = c.Execute("INSERT INTO aliases(address, domain, target, created_at) VALUES(@a, @d, @t, @now) ON CONFLICT DO NOTHING",
            ("@a", address), ("@d", domain), ("@t", target), ("@now", Now));
        if (added == 0) throw new StoreException($"alias {address} -> {target} already exists");
        c.Commit();
        directory?.Invalidate();
    }

    /// <summary>Removes one target of an alias, or the whole alias when <paramref name="target"/> is null.</summary>
    public void RemoveAlias(string address, string? target)
    {
        var removed = target is null
            ? db.Execute("DELETE FROM aliases WHERE address=@a", ("@a", address))
            : db.Execute("DELETE FROM aliases WHERE address=@a AND target=@t", ("@a", address), ("@t", target));
        if (removed == 0) throw new StoreException(target is null ? $"alias {address} does not exist" : $"alias {address} -> {target} does not exist");
        directory?.Invalidate();
    }

    public List<AliasInfo> ListAliases(string? domain = null) =>
        db.Rows("SELECT address, target FROM aliases WHERE CAST(@d AS TEXT) IS NULL OR domain=@d ORDER BY domain, address, target",
            r => new AliasInfo(r.GetString(0), r.GetString(1)), ("@d", domain));

    // ---- recipient lookup ----

    /// <summary>The mailboxes an address delivers to: itself when it is a mailbox, an alias's targets, or none.</summary>
    public List<LocalTarget> ResolveLocal(string address)
    {
        if (directory?.Current is { } d && d.Snapshot.Resolve(address).Targets is var cached && (cached.Count > 0 || d.Authoritative)) return cached;
        using var c = db.ConnectForLookups();
        return Resolve(c, address).Targets;
    }

    /// <summary>
    /// The recipient lookup of one RCPT, on one connection: null when <paramref name="domain"/> is not
    /// hosted; else its inbound switch and the first of <paramref name="candidates"/> that names a
    /// mailbox or an alias (the exact address before its subaddress base).
    /// </summary>
    public RecipientLookup? LookupRecipient(string domain, IEnumerable<string> candidates)
    {
        if (directory?.Current is { } d)
        {
            // A hit is served even from a snapshot the feed no longer vouches for (the last good state); a miss is not.
            var cached = d.Snapshot.LookupRecipient(domain, candidates);
            if (d.Authoritative || cached?.Match is not null) return cached;
        }
        using var c = db.ConnectForLookups();
        if (c.Scalar("SELECT inbound_tls FROM domains WHERE name=@d", ("@d", domain)) is not string inbound) return null;
        var setting = TlsPolicyRepository.ParseInbound(inbound);
        foreach (var candidate in candidates)
        {
            var (targets, isAlias) = Resolve(c, candidate);
            if (targets.Count > 0) return new RecipientLookup(setting, candidate, isAlias, targets);
        }
        return new RecipientLookup(setting, null, false, []);
    }

    private static (List<LocalTarget> Targets, bool IsAlias) Resolve(StoreConnection c, string address)
    {
        var rows = c.Rows("""
            SELECT address, maildir, 0 FROM mailboxes WHERE address=@a
            UNION ALL
            SELECT m.address, m.maildir, 1 FROM aliases a JOIN mailboxes m ON m.address = a.target WHERE a.address=@a
            """, r => (Target: new LocalTarget(r.GetString(0), r.GetString(1)), IsAlias: r.GetInt64(2) == 1), ("@a", address));
        return (rows.Select(x => x.Target).ToList(), rows.Any(x => x.IsAlias));
    }

    /// <summary>The one check of a new address, for the CLI and any form that creates addresses.</summary>
    private static void RequireCreatableLocalPart(string localPart, string what)
    {
        if (MailboxAddressRule.Check(localPart) is { } problem) throw new StoreException($"refused to create the {what}: {problem}"); // not echoed: it may hold control characters
    }

    private static void RequireDomain(StoreConnection c, string domain)
    {
        if (c.Scalar("SELECT 1 FROM domains WHERE name=@d", ("@d", domain)) is null)
            throw new StoreException($"domain {domain} is not hosted here; add it with 'securemx domain add {domain}'");
    }
}
