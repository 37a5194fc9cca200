using Microsoft.Data.Sqlite;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// The queue database's schema and its migrations, counted in <c>PRAGMA user_version</c>. Each
/// migration commits with its version number, so a failure (a full disk, a locked file) leaves the
/// previous version whole and the next start tries again.
/// </summary>
internal static class QueueSchema
{
    public const int Version = 5;

    public static void Migrate(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        var version = Convert.ToInt32(cmd.ExecuteScalar());
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
    }

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
