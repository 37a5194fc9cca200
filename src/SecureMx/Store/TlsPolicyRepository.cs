using SecureMx.Mail;

namespace SecureMx.Store;

/// <summary>One change of a TLS policy or a role: who, when, what, old → new (shown on the dashboard's domain page).</summary>
public sealed record PolicyChange(DateTimeOffset At, string Actor, string Subject, string Setting, string OldValue, string NewValue);

/// <summary>A hosted domain's two switches.</summary>
public sealed record DomainTlsSettings(string Domain, InboundTlsSetting Inbound, OutboundTlsSetting Outbound);

/// <summary>A mailbox's outbound switch.</summary>
public sealed record MailboxTlsSetting(string Address, OutboundTlsSetting Outbound);

/// <summary>An entry of the destination table: the level for all mail to a recipient domain.</summary>
public sealed record DestinationTlsEntry(string Domain, OutboundTlsLevel Level);

/// <summary>
/// The TLS policy settings (schema version 4) and the policy audit. They are read at every RCPT and
/// every delivery, so a change applies to a running server at once. Every change is recorded in
/// policy_audit in the same transaction. The stored words are parsed here and nowhere else; a
/// word no version wrote counts as the lenient setting, as it always has.
/// <para>
/// With a <paramref name="directory"/> (several nodes on one PostgreSQL store) the settings the
/// delivery and the RCPT read (<see cref="DomainInboundTls"/>, <see cref="DomainOutboundTls"/>,
/// <see cref="MailboxOutboundTls"/>, <see cref="DestinationTls"/>) come from its snapshot. The
/// outbound ones are served from the last good snapshot whatever it says, misses included (an
/// unknown sender or destination has no setting; while the store is gone nothing can be added to
/// it, and while it answers the snapshot is at most a minute old): the queue keeps delivering
/// during an outage. An inbound switch the snapshot cannot vouch for is asked of the store.
/// </para>
/// </summary>
public sealed class TlsPolicyRepository(StoreDatabase db, TimeProvider time, DirectoryCache? directory = null)
{
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    internal static InboundTlsSetting ParseInbound(string stored) =>
        InboundTlsSettings.TryParse(stored, out var s) ? s : InboundTlsSetting.Opportunistic;

    internal static OutboundTlsSetting ParseOutbound(string stored) =>
        OutboundTlsSettings.TryParse(stored, out var s) ? s : OutboundTlsSetting.Default;

    /// <summary>Inbound setting of a hosted domain, or null when it is not hosted.</summary>
    public InboundTlsSetting? DomainInboundTls(string domain) =>
        directory?.Current is { } d && (d.Snapshot.IsHosted(domain) || d.Authoritative) ? d.Snapshot.DomainInboundTls(domain) :
        db.LookupScalar("SELECT inbound_tls FROM domains WHERE name=@k", ("@k", domain)) is string s ? ParseInbound(s) : null;

    /// <summary>
    /// Whether a hosted domain refuses mail that fails DMARC under p=reject ('enforce'); false for 'off' and
    /// for a domain not hosted. Read once per message that would be refused, straight from the store.
    /// </summary>
    public bool DomainEnforcesDmarc(string domain) =>
        db.LookupScalar("SELECT dmarc FROM domains WHERE name=@k", ("@k", domain)) is "enforce";

    /// <summary>Switches DMARC enforcement of a hosted domain ("enforce" or "off"); returns the old setting; audited like the TLS switches.</summary>
    public string SetDmarcEnforcement(string domain, bool enforce, string actor) =>
        Change("domains", "name", domain, "dmarc", enforce ? "enforce" : "off", actor, $"domain {domain} is not hosted here");

    /// <summary>Outbound setting of a hosted domain, or null when it is not hosted.</summary>
    public OutboundTlsSetting? DomainOutboundTls(string domain) =>
        directory?.Current is { } d ? d.Snapshot.DomainOutboundTls(domain) :
        db.LookupScalar("SELECT outbound_tls FROM domains WHERE name=@k", ("@k", domain)) is string s ? ParseOutbound(s) : null;

    /// <summary>Outbound setting of a mailbox, or null when it does not exist.</summary>
    public OutboundTlsSetting? MailboxOutboundTls(string address) =>
        directory?.Current is { } d ? d.Snapshot.MailboxOutboundTls(address) :
        db.LookupScalar("SELECT outbound_tls FROM mailboxes WHERE address=@k", ("@k", address)) is string s ? ParseOutbound(s) : null;

    /// <summary>Every hosted domain with its inbound and outbound setting, in one query (lists of domains).</summary>
    public List<DomainTlsSettings> DomainTlsSettings() =>
        db.Rows("SELECT name, inbound_tls, outbound_tls FROM domains ORDER BY name",
            r => new DomainTlsSettings(r.GetString(0), ParseInbound(r.GetString(1)), ParseOutbound(r.GetString(2))));

    /// <summary>Every mailbox of a domain with its outbound setting, in one query (not one per mailbox).</summary>
    public List<MailboxTlsSetting> MailboxOutboundTlsOf(string domain) =>
        db.Rows("SELECT address, outbound_tls FROM mailboxes WHERE domain=@k ORDER BY address",
            r => new MailboxTlsSetting(r.GetString(0), ParseOutbound(r.GetString(1))), ("@k", domain));

    /// <summary>Sets a hosted domain's inbound policy; returns the old value.</summary>
    public InboundTlsSetting SetInboundTls(string domain, InboundTlsSetting value, string actor) =>
        ParseInbound(Change("domains", "name", domain, "inbound_tls", value.Name(), actor, $"domain {domain} is not hosted here"));

    public OutboundTlsSetting SetDomainOutboundTls(string domain, OutboundTlsSetting value, string actor) =>
        ParseOutbound(Change("domains", "name", domain, "outbound_tls", value.Name(), actor, $"domain {domain} is not hosted here"));

    public OutboundTlsSetting SetMailboxOutboundTls(string address, OutboundTlsSetting value, string actor) =>
        ParseOutbound(Change("mailboxes", "address", address, "outbound_tls", value.Name(), actor, $"mailbox {address} does not exist"));

    /// <summary>
    /// A hosted domain's inbound setting and its MTA-STS mode as stored (the word: MtaSts/ parses it), read
    /// from the store itself, never from the directory snapshot: every node of a cluster serves the
    /// policy the store holds now. Null when the domain is not hosted.
    /// </summary>
    public (InboundTlsSetting Inbound, string MtaStsMode)? DomainMtaSts(string domain) =>
        db.Rows("SELECT inbound_tls, mta_sts_mode FROM domains WHERE name=@k", r => (ParseInbound(r.GetString(0)), r.GetString(1)), ("@k", domain)) is [var row]
            ? row : null;

    /// <summary>Sets a hosted domain's MTA-STS mode (none, testing or enforce: checked by the caller); returns the old stored word.</summary>
    public string SetDomainMtaStsMode(string domain, string mode, string actor) =>
        Change("domains", "name", domain, "mta_sts_mode", mode, actor, $"domain {domain} is not hosted here");

    /// <summary>The level the destination table gives a recipient domain, or null.</summary>
    public OutboundTlsLevel? DestinationTls(string domain) =>
        directory?.Current is { } d ? d.Snapshot.DestinationTls(domain) :
        db.LookupScalar("SELECT level FROM tls_destinations WHERE domain=@k", ("@k", domain)) is string s && OutboundTlsLevels.TryParse(s, out var level) ? level : null;

    /// <summary>Sets (or with null removes) a destination's level; returns the old one (null when there was none).</summary>
    public OutboundTlsLevel? SetDestinationTls(string domain, OutboundTlsLevel? level, string actor)
    {
        using var c = db.Connect();
        c.BeginWrite();
        var old = c.Scalar("SELECT level FROM tls_destinations WHERE domain=@d", ("@d", domain)) as string ?? "";
        if (level is null && old.Length == 0) throw new StoreException($"destination {domain} has no TLS entry");
        var name = level?.Name();
        if (name is null) c.Execute("DELETE FROM tls_destinations WHERE domain=@d", ("@d", domain));
        else c.Execute("INSERT INTO tls_destinations(domain, level, updated_at) VALUES(@d, @l, @now) ON CONFLICT(domain) DO UPDATE SET level=@l, updated_at=@now",
            ("@d", domain), ("@l", name), ("@now", Now));
        PolicyAuditTrail.Record(c, Now, actor, domain, "destination_tls", old, name ?? "");
        c.Commit();
        directory?.Invalidate();
        return OutboundTlsLevels.TryParse(old, out var oldLevel) ? oldLevel : null;
    }

    /// <summary>The destination table, by domain (an entry whose stored word is no level is left out, as <see cref="DestinationTls"/> ignores it).</summary>
    public List<DestinationTlsEntry> ListDestinationTls() =>
        db.Rows("SELECT domain, level FROM tls_destinations ORDER BY domain",
                r => OutboundTlsLevels.TryParse(r.GetString(1), out var level) ? new DestinationTlsEntry(r.GetString(0), level) : null)
            .OfType<DestinationTlsEntry>().ToList();

    /// <summary>Policy and role changes, newest first; for one subject (a domain also returns its mailboxes' changes) or all.</summary>
    public List<PolicyChange> PolicyAudit(string? subject, int limit = 200) =>
        db.Rows("""
            SELECT at, actor, subject, setting, old_value, new_value FROM policy_audit
            WHERE CAST(@s AS TEXT) IS NULL OR subject = @s OR (length(subject) > length(@s) AND substr(subject, length(subject) - length(@s)) = '@' || @s)
            ORDER BY at DESC, id DESC LIMIT @limit
            """, r => new PolicyChange(r.Time(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)),
            ("@s", subject), ("@limit", limit));

    /// <summary>Sets one column of one row and audits the change (none when the value is already set); returns the old stored word.</summary>
    private string Change(string table, string keyColumn, string key, string column, string value, string actor, string missing)
    {
        using var c = db.Connect();
        c.BeginWrite();
        var old = c.Scalar($"SELECT {column} FROM {table} WHERE {keyColumn}=@k", ("@k", key)) as string ?? throw new StoreException(missing);
        if (old != value)
        {
            c.Execute($"UPDATE {table} SET {column}=@v WHERE {keyColumn}=@k", ("@k", key), ("@v", value));
            PolicyAuditTrail.Record(c, Now, actor, key, column, old, value);
        }
        c.Commit();
        if (old != value) directory?.Invalidate();
        return old;
    }
}
