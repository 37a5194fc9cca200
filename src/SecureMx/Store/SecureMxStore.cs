using System.Text;
using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

public sealed record MailboxInfo(string Address, string Domain, string Maildir, DateTimeOffset CreatedAt);

public sealed record AliasInfo(string Address, string Target);

/// <summary>Raised for operator mistakes (unknown domain, duplicate mailbox …): the CLI prints the message.</summary>
public sealed class StoreException(string message) : Exception(message);

/// <summary>
/// The instance's store (SQLite, <c>securemx.db</c>): hosted domains, mailboxes, aliases and the
/// inbound session log. The CLI and the server open it at the same time; WAL mode lets readers
/// continue while one writes, and the server reads it on every RCPT, so changes apply at once.
/// </summary>
public sealed partial class SecureMxStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;

    public string DataDirectory { get; }

    public SecureMxStore(string dataDirectory, TimeProvider time)
    {
        DataDirectory = dataDirectory;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "securemx.db"),
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>A pooled connection; busy waits are retried by Microsoft.Data.Sqlite up to DefaultTimeout.</summary>
    public SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    /// <summary>
    /// The schema, one step per version: step N takes PRAGMA user_version from N to N+1. Steps are
    /// only ever appended; an existing store applies the ones it has not seen.
    /// </summary>
    private static readonly string[] Migrations =
    [
        """
            CREATE TABLE domains(
              name TEXT PRIMARY KEY,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE mailboxes(
              address TEXT PRIMARY KEY,
              domain TEXT NOT NULL REFERENCES domains(name),
              password_hash TEXT NOT NULL,
              maildir TEXT NOT NULL,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE aliases(
              address TEXT NOT NULL,
              domain TEXT NOT NULL REFERENCES domains(name),
              target TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              PRIMARY KEY(address, target)
            );
            CREATE TABLE inbound_sessions(
              id TEXT PRIMARY KEY,
              started_at INTEGER NOT NULL,
              ended_at INTEGER,
              listener TEXT NOT NULL,
              client_ip TEXT NOT NULL,
              helo TEXT,
              tls_protocol TEXT,
              tls_cipher TEXT,
              messages INTEGER NOT NULL DEFAULT 0,
              end_reason TEXT
            );
            CREATE TABLE inbound_recipients(
              session_id TEXT NOT NULL,
              at INTEGER NOT NULL,
              mail_from_domain TEXT,
              recipient_domain TEXT NOT NULL,
              accepted INTEGER NOT NULL,
              reply TEXT NOT NULL,
              tls_protocol TEXT,
              tls_cipher TEXT
            );
            CREATE INDEX inbound_sessions_started ON inbound_sessions(started_at);
            CREATE INDEX inbound_recipients_domain ON inbound_recipients(recipient_domain, at);
            """,
        // One row per delivery attempt and recipient (local and remote), with the TLS it got.
        """
            CREATE TABLE delivery_log(
              id INTEGER PRIMARY KEY,
              at INTEGER NOT NULL,
              message_id TEXT NOT NULL,
              sender TEXT NOT NULL,
              account TEXT,
              recipient TEXT NOT NULL,
              mx_host TEXT,
              ip TEXT,
              result TEXT NOT NULL,
              code INTEGER,
              enhanced TEXT,
              text TEXT,
              tls_protocol TEXT,
              tls_cipher TEXT,
              tls_verification TEXT NOT NULL
            );
            CREATE INDEX delivery_log_at ON delivery_log(at);
            CREATE INDEX delivery_log_recipient ON delivery_log(recipient, at);
            CREATE INDEX delivery_log_sender ON delivery_log(sender, at);
            """,
        // Submission sessions: who logged in, and how many logins failed.
        """
            ALTER TABLE inbound_sessions ADD COLUMN account TEXT;
            ALTER TABLE inbound_sessions ADD COLUMN auth_failures INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX delivery_log_account ON delivery_log(account, at);
            """,
        // Mandatory TLS: inbound per domain, outbound per domain and per mailbox, a destination
        // table, and who changed what when (DESIGN.md §3).
        """
            ALTER TABLE domains ADD COLUMN inbound_tls TEXT NOT NULL DEFAULT 'opportunistic';
            ALTER TABLE domains ADD COLUMN outbound_tls TEXT NOT NULL DEFAULT 'default';
            ALTER TABLE mailboxes ADD COLUMN outbound_tls TEXT NOT NULL DEFAULT 'default';
            CREATE TABLE tls_destinations(
              domain TEXT PRIMARY KEY,
              level TEXT NOT NULL,
              updated_at INTEGER NOT NULL
            );
            CREATE TABLE policy_audit(
              id INTEGER PRIMARY KEY,
              at INTEGER NOT NULL,
              actor TEXT NOT NULL,
              subject TEXT NOT NULL,
              setting TEXT NOT NULL,
              old_value TEXT NOT NULL,
              new_value TEXT NOT NULL
            );
            CREATE INDEX policy_audit_subject ON policy_audit(subject, at);
            """,
        // Dashboard roles: system administrators and domain administrators (mailbox addresses).
        """
            CREATE TABLE system_admins(
              address TEXT PRIMARY KEY,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE domain_admins(
              domain TEXT NOT NULL,
              address TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              PRIMARY KEY(domain, address)
            );
            CREATE INDEX domain_admins_address ON domain_admins(address);
            """,
    ];

    /// <summary>Creates or upgrades the schema (PRAGMA user_version counts the migrations applied).</summary>
    public void Migrate()
    {
        using var c = Open();
        using (var wal = c.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            wal.ExecuteNonQuery();
        }
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        var version = Convert.ToInt32(cmd.ExecuteScalar());
        for (int step = version; step < Migrations.Length; step++)
        {
            // Each step and its version number in one transaction: all of it or nothing.
            using var tx = c.BeginTransaction();
            using var m = c.CreateCommand();
            m.Transaction = tx;
            m.CommandText = Migrations[step] + $"\nPRAGMA user_version = {step + 1};";
            m.ExecuteNonQuery();
            tx.Commit();
        }
    }

    private readonly Lock _logGate = new();
    private SqliteConnection? _logConnection;

    /// <summary>
    /// A connection of its own for log rows, with synchronous=NORMAL: in WAL mode its commits stay
    /// consistent after a crash but are not fsync'd one by one — a power failure may cost the newest
    /// log rows, never the queue (which has its own database) and never the configuration (whose
    /// pooled connections keep synchronous=FULL). One fsync per delivered message halved throughput.
    /// </summary>
    private SqliteConnection LogConnection()
    {
        if (_logConnection is not null) return _logConnection;
        var c = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA synchronous=NORMAL;";
        cmd.ExecuteNonQuery();
        return _logConnection = c;
    }

    private readonly List<DeliveryLogEntry> _pendingLog = new();
    private ITimer? _logFlush;

    /// <summary>
    /// Adds delivery attempts to the delivery log. Rows are written in batches (every 200 ms or 500
    /// rows, and before any query): a transaction per delivered message measurably slowed the queue.
    /// </summary>
    public void AppendDeliveryLog(IEnumerable<DeliveryLogEntry> entries)
    {
        lock (_logGate)
        {
            _pendingLog.AddRange(entries);
            if (_pendingLog.Count >= 500) FlushLogLocked();
            else _logFlush ??= TimeProvider.System.CreateTimer(_ => FlushDeliveryLog(), null, TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan); // real time: a write-behind detail, not a queue rule
        }
    }

    /// <summary>Writes the delivery log rows not written yet (also called at shutdown).</summary>
    public void FlushDeliveryLog()
    {
        lock (_logGate) FlushLogLocked();
    }

    private void FlushLogLocked()
    {
        _logFlush?.Dispose();
        _logFlush = null;
        if (_pendingLog.Count == 0) return;
        try
        {
            AppendDeliveryLog(LogConnection(), _pendingLog);
            _pendingLog.Clear();
        }
        catch (SqliteException)
        {
            // Kept for the next flush (bounded): the log is worth a retry, not a crash of the queue.
            if (_pendingLog.Count > 10_000) _pendingLog.RemoveRange(0, _pendingLog.Count - 10_000);
            _logFlush = TimeProvider.System.CreateTimer(_ => FlushDeliveryLog(), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        }
    }

    private static void AppendDeliveryLog(SqliteConnection c, IEnumerable<DeliveryLogEntry> entries)
    {
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO delivery_log(at, message_id, sender, account, recipient, mx_host, ip, result, code, enhanced, text, tls_protocol, tls_cipher, tls_verification)
            VALUES($at, $id, $sender, $account, $rcpt, $mx, $ip, $result, $code, $enh, $text, $tlsp, $tlsc, $tlsv)
            """;
        foreach (var e in entries)
        {
            cmd.Parameters.Clear();
            cmd.Parameters.AddWithValue("$at", e.At.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$id", e.MessageId);
            cmd.Parameters.AddWithValue("$sender", e.Sender);
            cmd.Parameters.AddWithValue("$account", (object?)e.Account ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$rcpt", e.Recipient);
            cmd.Parameters.AddWithValue("$mx", (object?)e.MxHost ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ip", (object?)e.Ip ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$result", e.Result);
            cmd.Parameters.AddWithValue("$code", (object?)e.Code ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$enh", (object?)e.Enhanced ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$text", (object?)e.Text ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$tlsp", (object?)e.TlsProtocol ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$tlsc", (object?)e.TlsCipher ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$tlsv", e.TlsVerification);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Delivery log rows, newest last, filtered by recipient, sender and time.</summary>
    public List<DeliveryLogEntry> QueryDeliveryLog(string? recipient, string? sender, DateTimeOffset? since, int limit, string? account = null)
    {
        FlushDeliveryLog();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            SELECT {DeliveryLogColumns}
            FROM (SELECT * FROM delivery_log
                  WHERE ($r IS NULL OR recipient = $r) AND ($s IS NULL OR sender = $s) AND ($acct IS NULL OR account = $acct) AND ($since IS NULL OR at >= $since)
                  ORDER BY at DESC, id DESC LIMIT $limit)
            ORDER BY at, id
            """;
        cmd.Parameters.AddWithValue("$r", (object?)recipient ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$s", (object?)sender ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$acct", (object?)account ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$since", (object?)since?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", limit);
        return ReadDeliveryLog(cmd);
    }

    /// <summary>The rows of a query that selects <see cref="DeliveryLogColumns"/>.</summary>
    private static List<DeliveryLogEntry> ReadDeliveryLog(SqliteCommand cmd)
    {
        var list = new List<DeliveryLogEntry>();
        using var r = cmd.ExecuteReader();
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        while (r.Read())
        {
            list.Add(new DeliveryLogEntry(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1), r.GetString(2), S(3), r.GetString(4),
                S(5), S(6), r.GetString(7), r.IsDBNull(8) ? null : r.GetInt32(8), S(9), S(10), S(11), S(12), r.GetString(13)));
        }
        return list;
    }

    private const string DeliveryLogColumns = "at, message_id, sender, account, recipient, mx_host, ip, result, code, enhanced, text, tls_protocol, tls_cipher, tls_verification";

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- domains ----

    public void AddDomain(string domain)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO domains(name, created_at) VALUES($d, $now) ON CONFLICT DO NOTHING";
        cmd.Parameters.AddWithValue("$d", domain);
        cmd.Parameters.AddWithValue("$now", Now);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"domain {domain} already exists");
    }

    public void RemoveDomain(string domain)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var check = c.CreateCommand();
        check.Transaction = tx;
        check.CommandText = "SELECT (SELECT COUNT(*) FROM mailboxes WHERE domain=$d) + (SELECT COUNT(*) FROM aliases WHERE domain=$d)";
        check.Parameters.AddWithValue("$d", domain);
        var n = Convert.ToInt64(check.ExecuteScalar());
        if (n > 0) throw new StoreException($"domain {domain} still has {n} mailbox(es)/alias(es); remove them first");
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM domains WHERE name=$d";
        cmd.Parameters.AddWithValue("$d", domain);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"domain {domain} does not exist");
        using var admins = c.CreateCommand();
        admins.Transaction = tx;
        admins.CommandText = "DELETE FROM domain_admins WHERE domain=$d";
        admins.Parameters.AddWithValue("$d", domain);
        admins.ExecuteNonQuery();
        tx.Commit();
    }

    public List<string> ListDomains()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name FROM domains ORDER BY name";
        var list = new List<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    // ---- mailboxes ----

    /// <summary>The Maildir of a mailbox, relative to the data directory: mail/DOMAIN/LOCAL (local part made file-name safe).</summary>
    public static string MaildirFor(string localPart, string domain)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(localPart.ToLowerInvariant()))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' || (c == '.' && sb.Length > 0)) sb.Append(c);
            else sb.Append('%').Append(b.ToString("x2"));
        }
        return Path.Combine("mail", domain, sb.ToString());
    }

    public MailboxInfo AddMailbox(string localPart, string domain, string passwordHash)
    {
        var address = localPart.ToLowerInvariant() + "@" + domain;
        var maildir = MaildirFor(localPart, domain);
        using var c = Open();
        using var tx = c.BeginTransaction();
        RequireDomain(c, tx, domain);
        using (var clash = c.CreateCommand())
        {
            clash.Transaction = tx;
            clash.CommandText = "SELECT 1 FROM aliases WHERE address=$a";
            clash.Parameters.AddWithValue("$a", address);
            if (clash.ExecuteScalar() is not null) throw new StoreException($"{address} is an alias; remove the alias first");
        }
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO mailboxes(address, domain, password_hash, maildir, created_at) VALUES($a, $d, $h, $m, $now) ON CONFLICT DO NOTHING";
        cmd.Parameters.AddWithValue("$a", address);
        cmd.Parameters.AddWithValue("$d", domain);
        cmd.Parameters.AddWithValue("$h", passwordHash);
        cmd.Parameters.AddWithValue("$m", maildir);
        cmd.Parameters.AddWithValue("$now", Now);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"mailbox {address} already exists");
        tx.Commit();
        return new MailboxInfo(address, domain, maildir, _time.GetUtcNow());
    }

    public void RemoveMailbox(string address)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        using (var used = c.CreateCommand())
        {
            used.Transaction = tx;
            used.CommandText = "SELECT address FROM aliases WHERE target=$a ORDER BY address";
            used.Parameters.AddWithValue("$a", address);
            var aliases = new List<string>();
            using (var r = used.ExecuteReader()) while (r.Read()) aliases.Add(r.GetString(0));
            if (aliases.Count > 0) throw new StoreException($"mailbox {address} is the target of alias(es) {string.Join(", ", aliases)}; remove them first");
        }
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM mailboxes WHERE address=$a";
        cmd.Parameters.AddWithValue("$a", address);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"mailbox {address} does not exist");
        // A role never outlives its mailbox: a new mailbox of the same name must not inherit it.
        using var roles = c.CreateCommand();
        roles.Transaction = tx;
        roles.CommandText = "DELETE FROM system_admins WHERE address=$a; DELETE FROM domain_admins WHERE address=$a;";
        roles.Parameters.AddWithValue("$a", address);
        roles.ExecuteNonQuery();
        tx.Commit();
    }

    public List<MailboxInfo> ListMailboxes(string? domain = null)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT address, domain, maildir, created_at FROM mailboxes WHERE $d IS NULL OR domain=$d ORDER BY domain, address";
        cmd.Parameters.AddWithValue("$d", (object?)domain ?? DBNull.Value);
        var list = new List<MailboxInfo>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(new MailboxInfo(r.GetString(0), r.GetString(1), r.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))));
        return list;
    }

    public MailboxInfo? FindMailbox(string address)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT address, domain, maildir, created_at FROM mailboxes WHERE address=$a";
        cmd.Parameters.AddWithValue("$a", address);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new MailboxInfo(r.GetString(0), r.GetString(1), r.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))) : null;
    }

    /// <summary>The stored password hash of a mailbox, or null when no such mailbox exists.</summary>
    public string? FindPasswordHash(string address)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT password_hash FROM mailboxes WHERE address=$a";
        cmd.Parameters.AddWithValue("$a", address);
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>Replaces a mailbox's password hash; effective for the next login, also on a running server.</summary>
    public void SetPasswordHash(string address, string passwordHash)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE mailboxes SET password_hash=$h WHERE address=$a";
        cmd.Parameters.AddWithValue("$a", address);
        cmd.Parameters.AddWithValue("$h", passwordHash);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"mailbox {address} does not exist");
    }

    /// <summary>Whether <paramref name="address"/> is the mailbox <paramref name="account"/> itself or an alias that delivers to it.</summary>
    public bool AddressBelongsTo(string address, string account)
    {
        if (address == account) return FindMailbox(account) is not null;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM aliases WHERE address=$a AND target=$t";
        cmd.Parameters.AddWithValue("$a", address);
        cmd.Parameters.AddWithValue("$t", account);
        return cmd.ExecuteScalar() is not null;
    }

    // ---- aliases ----

    public void AddAlias(string address, string domain, string target)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        RequireDomain(c, tx, domain);
        using (var clash = c.CreateCommand())
        {
            clash.Transaction = tx;
            clash.CommandText = "SELECT 1 FROM mailboxes WHERE address=$a";
            clash.Parameters.AddWithValue("$a", address);
            if (clash.ExecuteScalar() is not null) throw new StoreException($"{address} is a mailbox; an alias cannot have the same address");
        }
        using (var t = c.CreateCommand())
        {
            // Until outbound delivery exists, an alias can only point at a hosted mailbox (no message may be stranded).
            t.Transaction = tx;
            t.CommandText = "SELECT 1 FROM mailboxes WHERE address=$t";
            t.Parameters.AddWithValue("$t", target);
            if (t.ExecuteScalar() is null) throw new StoreException($"alias target {target} is not a hosted mailbox");
        }
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO aliases(address, domain, target, created_at) VALUES($a, $d, $t, $now) ON CONFLICT DO NOTHING";
        cmd.Parameters.AddWithValue("$a", address);
        cmd.Parameters.AddWithValue("$d", domain);
        cmd.Parameters.AddWithValue("$t", target);
        cmd.Parameters.AddWithValue("$now", Now);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException($"alias {address} -> {target} already exists");
        tx.Commit();
    }

    /// <summary>Removes one target of an alias, or the whole alias when <paramref name="target"/> is null.</summary>
    public void RemoveAlias(string address, string? target)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = target is null ? "DELETE FROM aliases WHERE address=$a" : "DELETE FROM aliases WHERE address=$a AND target=$t";
        cmd.Parameters.AddWithValue("$a", address);
        if (target is not null) cmd.Parameters.AddWithValue("$t", target);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException(target is null ? $"alias {address} does not exist" : $"alias {address} -> {target} does not exist");
    }

    public List<AliasInfo> ListAliases(string? domain = null)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT address, target FROM aliases WHERE $d IS NULL OR domain=$d ORDER BY domain, address, target";
        cmd.Parameters.AddWithValue("$d", (object?)domain ?? DBNull.Value);
        var list = new List<AliasInfo>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(new AliasInfo(r.GetString(0), r.GetString(1)));
        return list;
    }

    /// <summary>What an address on a hosted domain names: a mailbox (its Maildir), an alias (its targets' Maildirs), or nothing.</summary>
    public List<(string Address, string Maildir)> ResolveLocal(string address)
    {
        using var c = Open();
        return ResolveLocal(c, address);
    }

    /// <summary>
    /// The recipient lookup of one RCPT on one connection: null when the domain is not hosted, else the
    /// first of <paramref name="candidates"/> that names a mailbox or alias (empty when none does).
    /// </summary>
    public List<(string Address, string Maildir)>? LookupRecipient(string domain, IEnumerable<string> candidates) =>
        LookupRecipient(domain, candidates, out _);

    /// <summary>The same, also saying whether the domain takes mail only over secure TLS (one connection per RCPT).</summary>
    public List<(string Address, string Maildir)>? LookupRecipient(string domain, IEnumerable<string> candidates, out bool inboundTlsMandatory)
    {
        using var c = Open();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT inbound_tls FROM domains WHERE name=$d";
            cmd.Parameters.AddWithValue("$d", domain);
            var inbound = cmd.ExecuteScalar() as string;
            inboundTlsMandatory = inbound == InboundMandatory;
            if (inbound is null) return null;
        }
        foreach (var candidate in candidates)
        {
            var found = ResolveLocal(c, candidate);
            if (found.Count > 0) return found;
        }
        return [];
    }

    private static List<(string Address, string Maildir)> ResolveLocal(SqliteConnection c, string address)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT address, maildir FROM mailboxes WHERE address=$a
            UNION ALL
            SELECT m.address, m.maildir FROM aliases a JOIN mailboxes m ON m.address = a.target WHERE a.address=$a
            """;
        cmd.Parameters.AddWithValue("$a", address);
        var list = new List<(string, string)>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add((r.GetString(0), r.GetString(1)));
        return list;
    }

    private static void RequireDomain(SqliteConnection c, SqliteTransaction tx, string domain)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT 1 FROM domains WHERE name=$d";
        cmd.Parameters.AddWithValue("$d", domain);
        if (cmd.ExecuteScalar() is null) throw new StoreException($"domain {domain} is not hosted here; add it with 'securemx domain add {domain}'");
    }
}
