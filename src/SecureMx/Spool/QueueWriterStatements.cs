using Microsoft.Data.Sqlite;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// The hot statements of the queue's writer (<see cref="QueueDatabase"/>): each message's insert, blob,
/// recipient rows, outcome updates and removal. Prepared once on the writer's connection and re-bound
/// for every operation, instead of being parsed and planned again each time. Used only by the writer
/// thread (a <see cref="SqliteCommand"/> is not thread-safe).
/// </summary>
internal sealed class QueueWriterStatements : IDisposable
{
    private readonly SqliteCommand _message;
    private readonly SqliteCommand _data;
    private readonly SqliteCommand _recipient;
    private readonly SqliteCommand _update;
    private readonly SqliteCommand _remove;
    private readonly StoredOutcome.Parameters _outcome;

    public QueueWriterStatements(SqliteConnection c)
    {
        _message = Command(c, """
            INSERT INTO messages(id, received_at, sender, size, body, smtputf8, ret, envid, listener, client_ip, client_helo, protocol, tls_protocol, tls_cipher, account, requiretls, auth_results, data_id)
            VALUES($id, $at, $sender, $size, $body, $utf8, $ret, $envid, $listener, $ip, $helo, $proto, $tlsp, $tlsc, $account, $requiretls, $auth, $data)
            """,
            ("$id", SqliteType.Text), ("$at", SqliteType.Integer), ("$sender", SqliteType.Text), ("$size", SqliteType.Integer),
            ("$body", SqliteType.Text), ("$utf8", SqliteType.Integer), ("$ret", SqliteType.Text), ("$envid", SqliteType.Text),
            ("$listener", SqliteType.Text), ("$ip", SqliteType.Text), ("$helo", SqliteType.Text), ("$proto", SqliteType.Text),
            ("$tlsp", SqliteType.Text), ("$tlsc", SqliteType.Text), ("$account", SqliteType.Text), ("$requiretls", SqliteType.Integer), ("$auth", SqliteType.Text),
            ("$data", SqliteType.Integer));
        _data = Command(c, "INSERT INTO message_bytes(data) VALUES(zeroblob($len)) RETURNING id", ("$len", SqliteType.Integer));
        _recipient = Command(c, """
            INSERT INTO recipients(message_id, idx, address, original, route, maildir, notify, orcpt_type, orcpt, state, next_attempt_at, updated_at)
            VALUES($id, $idx, $addr, $orig, $route, $maildir, $notify, $ot, $o, 'Queued', $now, $now)
            """,
            ("$id", SqliteType.Text), ("$idx", SqliteType.Integer), ("$addr", SqliteType.Text), ("$orig", SqliteType.Text),
            ("$route", SqliteType.Text), ("$maildir", SqliteType.Text), ("$notify", SqliteType.Integer), ("$ot", SqliteType.Text),
            ("$o", SqliteType.Text), ("$now", SqliteType.Integer));
        _update = Command(c, $"""
            UPDATE recipients SET state=$state, attempts=attempts+$attempts, next_attempt_at=$next, {StoredOutcome.Assignments}, updated_at=$now,
              delay_warned = MAX(delay_warned, $warned)
            WHERE message_id=$id AND idx=$idx
            """,
            ("$warned", SqliteType.Integer), ("$state", SqliteType.Text), ("$next", SqliteType.Integer), ("$idx", SqliteType.Integer),
            ("$attempts", SqliteType.Integer), ("$now", SqliteType.Integer), ("$id", SqliteType.Text));
        _outcome = StoredOutcome.AddParameters(_update);
        // message_data: the bytes of a message queued before schema version 6 (QueueSchema); empty and untouched after.
        _remove = Command(c, """
            DELETE FROM recipients WHERE message_id=$id;
            DELETE FROM message_bytes WHERE id=(SELECT data_id FROM messages WHERE id=$id);
            DELETE FROM message_data WHERE id=$id;
            DELETE FROM messages WHERE id=$id;
            """,
            ("$id", SqliteType.Text));
        foreach (var cmd in new[] { _message, _data, _recipient, _update }) cmd.Prepare();
    }

    private static SqliteCommand Command(SqliteConnection c, string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, type) in parameters) cmd.Parameters.Add(name, type);
        return cmd;
    }

    private static object Nullable(object? value) => value ?? DBNull.Value;

    /// <summary>A message's row and its recipients' rows; <paramref name="dataId"/>: its bytes in <c>message_bytes</c> (<see cref="InsertData"/>), null when they are a data file.</summary>
    public void InsertEnvelope(SqliteTransaction tx, Envelope e, long? dataId, long now)
    {
        var p = _message.Parameters;
        _message.Transaction = tx;
        p[0].Value = e.Id;
        p[1].Value = e.ReceivedAt.ToUnixTimeMilliseconds();
        p[2].Value = e.Sender;
        p[3].Value = e.Size;
        p[4].Value = e.Parameters.Body.ToString();
        p[5].Value = e.Parameters.SmtpUtf8 ? 1 : 0;
        p[6].Value = Nullable(e.Parameters.Ret == DsnReturn.Unspecified ? null : e.Parameters.Ret.ToString());
        p[7].Value = Nullable(e.Parameters.EnvId);
        p[8].Value = e.Client.Listener;
        p[9].Value = e.Client.ClientIp;
        p[10].Value = e.Client.Helo;
        p[11].Value = e.Client.Protocol;
        p[12].Value = Nullable(e.Client.Tls?.Protocol);
        p[13].Value = Nullable(e.Client.Tls?.CipherSuite);
        p[14].Value = Nullable(e.Client.Account);
        p[15].Value = e.Parameters.RequireTls ? 1 : 0;
        p[16].Value = Nullable(e.AuthenticationResults);
        p[17].Value = Nullable(dataId);
        _message.ExecuteNonQuery();

        var r = _recipient.Parameters;
        _recipient.Transaction = tx;
        r[0].Value = e.Id;
        r[9].Value = now;
        for (int i = 0; i < e.Recipients.Count; i++)
        {
            var rcpt = e.Recipients[i];
            r[1].Value = i;
            r[2].Value = rcpt.Address;
            r[3].Value = rcpt.OriginalAddress;
            r[4].Value = rcpt.Route.ToString();
            r[5].Value = Nullable(rcpt.Maildir);
            r[6].Value = (int)rcpt.Notify;
            r[7].Value = Nullable(rcpt.OrcptType);
            r[8].Value = Nullable(rcpt.Orcpt);
            _recipient.ExecuteNonQuery();
        }
    }

    /// <summary>A zero-filled blob of <paramref name="length"/> bytes for a message's data in <c>message_bytes</c>; its key, for <see cref="SqliteBlob"/> and <see cref="InsertEnvelope"/>.</summary>
    public long InsertData(SqliteTransaction tx, long length)
    {
        _data.Transaction = tx;
        _data.Parameters[0].Value = length;
        return (long)_data.ExecuteScalar()!;
    }

    public void UpdateRecipients(SqliteTransaction tx, string messageId, IReadOnlyList<RecipientUpdate> updates, long now)
    {
        var p = _update.Parameters;
        _update.Transaction = tx;
        p["$now"].Value = now;
        p["$id"].Value = messageId;
        foreach (var u in updates)
        {
            p["$state"].Value = u.Outcome.State.ToString();
            p["$next"].Value = u.NextAttemptAt.ToUnixTimeMilliseconds();
            _outcome.Set(u.Outcome);
            p["$idx"].Value = u.Index;
            p["$attempts"].Value = u.Attempts;
            p["$warned"].Value = u.DelayWarned ? 1 : 0;
            _update.ExecuteNonQuery();
        }
    }

    /// <summary>A message's recipient rows, inline bytes and envelope.</summary>
    public void RemoveMessage(SqliteTransaction tx, string messageId)
    {
        _remove.Transaction = tx;
        _remove.Parameters[0].Value = messageId;
        _remove.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var cmd in new[] { _message, _data, _recipient, _update, _remove }) cmd.Dispose();
    }
}
