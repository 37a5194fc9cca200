using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>One change of a TLS policy: who, when, what, old → new (shown on the dashboard's domain page).</summary>
public sealed record PolicyChange(DateTimeOffset At, string Actor, string Subject, string Setting, string OldValue, string NewValue);

/// <summary>
/// The TLS policy settings (schema version 4). They are read at every RCPT and every delivery, so a
/// change applies to a running server at once. Every change is recorded in policy_audit.
/// </summary>
public sealed partial class SecureMxStore
{
    public const string InboundMandatory = "mandatory";
    public const string InboundOpportunistic = "opportunistic";
    public const string OutboundMandatory = "mandatory";
    public const string OutboundDefault = "default";

    /// <summary>Sets a hosted domain's inbound policy; returns the old value.</summary>
    public string SetInboundTls(string domain, bool mandatory, string actor) =>
        Change("domains", "name", domain, "inbound_tls", mandatory ? InboundMandatory : InboundOpportunistic, actor, $"domain {domain} is not hosted here");

    /// <summary>Outbound setting of a hosted domain ("mandatory" or "default"), or null when it is not hosted.</summary>
    public string? DomainOutboundTls(string domain) => Scalar("SELECT outbound_tls FROM domains WHERE name=$k", domain);

    /// <summary>Outbound setting of a mailbox ("mandatory" or "default"), or null when it does not exist.</summary>
    public string? MailboxOutboundTls(string address) => Scalar("SELECT outbound_tls FROM mailboxes WHERE address=$k", address);

    /// <summary>Every hosted domain with its inbound and outbound setting, in one query (lists of domains).</summary>
    public List<(string Domain, string Inbound, string Outbound)> DomainTlsSettings() =>
        Rows("SELECT name, inbound_tls, outbound_tls FROM domains ORDER BY name", null, r => (r.GetString(0), r.GetString(1), r.GetString(2)));

    /// <summary>Every mailbox of a domain with its outbound setting, in one query (not one per mailbox).</summary>
    public List<(string Address, string Outbound)> MailboxOutboundTlsOf(string domain) =>
        Rows("SELECT address, outbound_tls FROM mailboxes WHERE domain=$k ORDER BY address", domain, r => (r.GetString(0), r.GetString(1)));

    /// <summary>Inbound setting of a hosted domain, or null when it is not hosted.</summary>
    public string? DomainInboundTls(string domain) => Scalar("SELECT inbound_tls FROM domains WHERE name=$k", domain);

    public string SetDomainOutboundTls(string domain, bool mandatory, string actor) =>
        Change("domains", "name", domain, "outbound_tls", mandatory ? OutboundMandatory : OutboundDefault, actor, $"domain {domain} is not hosted here");

    public string SetMailboxOutboundTls(string address, bool mandatory, string actor) =>
        Change("mailboxes", "address", address, "outbound_tls", mandatory ? OutboundMandatory : OutboundDefault, actor, $"mailbox {address} does not exist");

    /// <summary>The level the destination table gives a recipient domain, or null.</summary>
    public string? DestinationTls(string domain) => Scalar("SELECT level FROM tls_destinations WHERE domain=$k", domain);

    /// <summary>Sets (or with null removes) a destination's level; returns the old one ("" when there was none).</summary>
    public string SetDestinationTls(string domain, string? level, string actor)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var old = Scalar(c, tx, "SELECT level FROM tls_destinations WHERE domain=$k", domain) ?? "";
        if (level is null && old.Length == 0) throw new StoreException($"destination {domain} has no TLS entry");
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = level is null
            ? "DELETE FROM tls_destinations WHERE domain=$d"
            : "INSERT INTO tls_destinations(domain, level, updated_at) VALUES($d, $l, $now) ON CONFLICT(domain) DO UPDATE SET level=$l, updated_at=$now";
        cmd.Parameters.AddWithValue("$d", domain);
        cmd.Parameters.AddWithValue("$l", (object?)level ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$now", Now);
        cmd.ExecuteNonQuery();
        Audit(c, tx, actor, domain, "destination_tls", old, level ?? "");
        tx.Commit();
        return old;
    }

    public List<(string Domain, string Level)> ListDestinationTls()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT domain, level FROM tls_destinations ORDER BY domain";
        var list = new List<(string, string)>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add((r.GetString(0), r.GetString(1)));
        return list;
    }

    /// <summary>Policy changes, newest first; for one subject (a domain also returns its mailboxes' changes) or all.</summary>
    public List<PolicyChange> PolicyAudit(string? subject, int limit = 200)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT at, actor, subject, setting, old_value, new_value FROM policy_audit
            WHERE $s IS NULL OR subject = $s OR substr(subject, -length($s) - 1) = '@' || $s
            ORDER BY at DESC, id DESC LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$s", (object?)subject ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", limit);
        var list = new List<PolicyChange>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new PolicyChange(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)));
        }
        return list;
    }

    private string Change(string table, string keyColumn, string key, string column, string value, string actor, string missing)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var old = Scalar(c, tx, $"SELECT {column} FROM {table} WHERE {keyColumn}=$k", key) ?? throw new StoreException(missing);
        if (old != value)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"UPDATE {table} SET {column}=$v WHERE {keyColumn}=$k";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$v", value);
            cmd.ExecuteNonQuery();
            Audit(c, tx, actor, key, column, old, value);
        }
        tx.Commit();
        return old;
    }

    private void Audit(SqliteConnection c, SqliteTransaction tx, string actor, string subject, string setting, string old, string value)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO policy_audit(at, actor, subject, setting, old_value, new_value) VALUES($at, $actor, $s, $setting, $old, $new)";
        cmd.Parameters.AddWithValue("$at", Now);
        cmd.Parameters.AddWithValue("$actor", actor);
        cmd.Parameters.AddWithValue("$s", subject);
        cmd.Parameters.AddWithValue("$setting", setting);
        cmd.Parameters.AddWithValue("$old", old);
        cmd.Parameters.AddWithValue("$new", value);
        cmd.ExecuteNonQuery();
    }

    private string? Scalar(string sql, string key)
    {
        using var c = Open();
        return Scalar(c, null, sql, key);
    }

    private static string? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, string key)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() as string;
    }
}
