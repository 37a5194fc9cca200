using Microsoft.Data.Sqlite;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Spool;

/// <summary>
/// The queue database's schema and its migrations, counted in <c>PRAGMA user_version</c>. Each
/// migration commits with its version number, so a failure (a full disk, a locked file) leaves the
/// previous version whole and the next start tries again.
/// </summary>
internal static class QueueSchema
{
    public const int Version = 6;

    public static void Migrate(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        var version = Convert.ToInt32(cmd.ExecuteScalar());
        RefuseNewer(version, c.DataSource);
        if (version < 1) CreateVersion1(c);
        if (version < 2)
        {
            // The delay DSN goes out exactly once per recipient.
            Exec(c, null, "ALTER TABLE recipients ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 2;");
        }
        if (version < 3) MigrateToVersion3(c);
        if (version < 4)
        {
            // The REQUIRETLS flag of MAIL FROM (RFC 8689 §4.1) is stored with the message, so it is relayed after a restart.
            Exec(c, null, "ALTER TABLE messages ADD COLUMN requiretls INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 4;");
        }
        if (version < 5)
        {
            // The Authentication-Results field of an inbound message (RFC 8601), prepended at delivery like Received.
            Exec(c, null, "ALTER TABLE messages ADD COLUMN auth_results TEXT; PRAGMA user_version = 5;");
        }
        if (version < 6) MigrateToVersion6(c);
    }

    /// <summary>
    /// A queue a newer program wrote is neither written nor read here: this one would not know where that one
    /// keeps a message's parts (as version 6 moved their bytes), and could lose track of them.
    /// </summary>
    public static void RefuseNewer(int version, string path)
    {
        if (version > Version)
        {
            throw new StoreException($"the queue {path} has schema version {version}, newer than this SecureMx knows ({Version}): " +
                "a newer SecureMx wrote it; run that one (or a newer one)");
        }
    }

    /// <summary>
    /// Version 6: fewer B-trees per message. <c>messages</c> and <c>recipients</c> become <c>WITHOUT ROWID</c>
    /// tables (their keys are the tables; before, each also had a rowid tree beside its key's index), and a
    /// message's bytes kept in the database go into <c>message_bytes</c> under an integer key that
    /// <c>messages.data_id</c> names, with no index on the queue id. A message's insert and its removal then
    /// write about six pages each instead of nine (a 4 KiB message): a third less write-ahead log and B-tree
    /// work per message.
    /// <para>The two small tables are copied (SQLite's table rebuild, in one transaction). The bytes are not:
    /// <c>message_data</c> stays for the messages queued before, read and removed where <c>data_id</c> is null,
    /// so the migration neither doubles the disk space of a long queue nor makes its start wait for the copy.</para>
    /// </summary>
    private static void MigrateToVersion6(SqliteConnection c)
    {
        // Off for the rebuild (SQLite's procedure for it): dropping the old messages table would otherwise
        // delete it row by row and cascade into the copied recipients. A no-op inside a transaction, so set before.
        var foreignKeys = Convert.ToInt64(Scalar(c, "PRAGMA foreign_keys")) == 1;
        if (foreignKeys) Exec(c, null, "PRAGMA foreign_keys=OFF");
        try
        {
            RebuildForVersion6(c);
        }
        finally
        {
            if (foreignKeys) Exec(c, null, "PRAGMA foreign_keys=ON");
        }
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static void RebuildForVersion6(SqliteConnection c)
    {
        using var tx = c.BeginTransaction();
        // Rebuilt once more (a queue whose user_version was set back): its data_id is kept.
        var dataId = HasColumn(c, tx, "messages", "data_id") ? "data_id" : "NULL";
        Exec(c, tx, $"""
            CREATE TABLE messages_v6(
              id TEXT PRIMARY KEY,
              received_at INTEGER NOT NULL,
              sender TEXT NOT NULL,
              size INTEGER NOT NULL,
              body TEXT NOT NULL,
              smtputf8 INTEGER NOT NULL,
              ret TEXT,
              envid TEXT,
              listener TEXT NOT NULL,
              client_ip TEXT NOT NULL,
              client_helo TEXT NOT NULL,
              protocol TEXT NOT NULL,
              tls_protocol TEXT,
              tls_cipher TEXT,
              account TEXT,
              requiretls INTEGER NOT NULL DEFAULT 0,
              auth_results TEXT,
              data_id INTEGER
            ) WITHOUT ROWID;
            INSERT INTO messages_v6({MessageColumns}, data_id) SELECT {MessageColumns}, {dataId} FROM messages;
            CREATE TABLE recipients_v6(
              message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
              idx INTEGER NOT NULL,
              address TEXT NOT NULL,
              original TEXT NOT NULL,
              route TEXT NOT NULL,
              maildir TEXT,
              notify INTEGER NOT NULL,
              orcpt_type TEXT,
              orcpt TEXT,
              state TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              next_attempt_at INTEGER NOT NULL,
              last_error TEXT,
              updated_at INTEGER NOT NULL,
              delay_warned INTEGER NOT NULL DEFAULT 0,
              last_reason TEXT,
              last_status TEXT,
              last_code INTEGER,
              last_tls_level TEXT,
              last_tls_source TEXT,
              last_host TEXT,
              last_address TEXT,
              PRIMARY KEY(message_id, idx)
            ) WITHOUT ROWID;
            INSERT INTO recipients_v6({RecipientColumns}) SELECT {RecipientColumns} FROM recipients;
            DROP TABLE recipients;
            DROP TABLE messages;
            ALTER TABLE messages_v6 RENAME TO messages;
            ALTER TABLE recipients_v6 RENAME TO recipients;
            CREATE INDEX recipients_due ON recipients(state, next_attempt_at);
            CREATE TABLE IF NOT EXISTS message_bytes(
              id INTEGER PRIMARY KEY,
              data BLOB NOT NULL
            );
            PRAGMA user_version = 6;
            """);
        tx.Commit();
    }

    private const string MessageColumns =
        "id, received_at, sender, size, body, smtputf8, ret, envid, listener, client_ip, client_helo, protocol, tls_protocol, tls_cipher, account, requiretls, auth_results";

    private const string RecipientColumns =
        "message_id, idx, address, original, route, maildir, notify, orcpt_type, orcpt, state, attempts, next_attempt_at, last_error, updated_at, " +
        "delay_warned, last_reason, last_status, last_code, last_tls_level, last_tls_source, last_host, last_address";

    private static bool HasColumn(SqliteConnection c, SqliteTransaction? tx, string table, string column)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info($table) WHERE name = $column";
        cmd.Parameters.AddWithValue("$table", table);
        cmd.Parameters.AddWithValue("$column", column);
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }

    /// <summary>
    /// A query for each queued message's id and whether its bytes are in the database (not a file in
    /// <c>spool/data</c>), for a queue of this version or of version 5 (a backup made before version 6, read
    /// without migrating it).
    /// </summary>
    public static string MessagesWithInlineBytes(SqliteConnection c) => HasColumn(c, null, "messages", "data_id")
        ? "SELECT m.id, m.data_id IS NOT NULL OR EXISTS(SELECT 1 FROM message_data d WHERE d.id = m.id) FROM messages m"
        : "SELECT m.id, EXISTS(SELECT 1 FROM message_data d WHERE d.id = m.id) FROM messages m";

    /// <summary>
    /// Version 3: the last outcome in columns (reason, status, reply code, the TLS requirement, the host
    /// tried); <c>last_error</c> stays as its human text. Rows written before are filled from that text.
    /// </summary>
    private static void MigrateToVersion3(SqliteConnection c)
    {
        using var tx = c.BeginTransaction();
        Exec(c, tx, """
            ALTER TABLE recipients ADD COLUMN last_reason TEXT;
            ALTER TABLE recipients ADD COLUMN last_status TEXT;
            ALTER TABLE recipients ADD COLUMN last_code INTEGER;
            ALTER TABLE recipients ADD COLUMN last_tls_level TEXT;
            ALTER TABLE recipients ADD COLUMN last_tls_source TEXT;
            ALTER TABLE recipients ADD COLUMN last_host TEXT;
            ALTER TABLE recipients ADD COLUMN last_address TEXT;
            """);
        var rows = new List<(string MessageId, int Index, DeliveryOutcome Outcome)>();
        using (var select = c.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT message_id, idx, state, route, last_error FROM recipients WHERE last_error IS NOT NULL";
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                var outcome = LegacyOutcomeText.Parse(Enum.Parse<RecipientState>(r.GetString(2)), Enum.Parse<RecipientRoute>(r.GetString(3)), r.GetString(4));
                rows.Add((r.GetString(0), r.GetInt32(1), outcome));
            }
        }
        using (var update = c.CreateCommand())
        {
            update.Transaction = tx;
            update.CommandText = $"UPDATE recipients SET {StoredOutcome.Assignments} WHERE message_id=$id AND idx=$idx";
            var id = update.Parameters.Add("$id", SqliteType.Text);
            var idx = update.Parameters.Add("$idx", SqliteType.Integer);
            var columns = StoredOutcome.AddParameters(update);
            foreach (var (messageId, index, outcome) in rows)
            {
                id.Value = messageId;
                idx.Value = index;
                columns.Set(outcome);
                update.ExecuteNonQuery();
            }
        }
        Exec(c, tx, "PRAGMA user_version = 3;");
        tx.Commit();
    }

    private static void CreateVersion1(SqliteConnection c)
    {
        Exec(c, null, """
            CREATE TABLE IF NOT EXISTS messages(
              id TEXT PRIMARY KEY,
              received_at INTEGER NOT NULL,
              sender TEXT NOT NULL,
              size INTEGER NOT NULL,
              body TEXT NOT NULL,
              smtputf8 INTEGER NOT NULL,
              ret TEXT,
              envid TEXT,
              listener TEXT NOT NULL,
              client_ip TEXT NOT NULL,
              client_helo TEXT NOT NULL,
              protocol TEXT NOT NULL,
              tls_protocol TEXT,
              tls_cipher TEXT,
              account TEXT
            );
            CREATE TABLE IF NOT EXISTS recipients(
              message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
              idx INTEGER NOT NULL,
              address TEXT NOT NULL,
              original TEXT NOT NULL,
              route TEXT NOT NULL,
              maildir TEXT,
              notify INTEGER NOT NULL,
              orcpt_type TEXT,
              orcpt TEXT,
              state TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0,
              next_attempt_at INTEGER NOT NULL,
              last_error TEXT,
              updated_at INTEGER NOT NULL,
              PRIMARY KEY(message_id, idx)
            );
            CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt_at);
            CREATE TABLE IF NOT EXISTS message_data(
              id TEXT NOT NULL UNIQUE,
              data BLOB NOT NULL
            );
            PRAGMA user_version = 1;
            """);
    }

    private static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
