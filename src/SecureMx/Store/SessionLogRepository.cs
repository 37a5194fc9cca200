using Microsoft.Extensions.Logging;
using SecureMx.Config;

namespace SecureMx.Store;

/// <summary>
/// The inbound session log (inbound_sessions, inbound_recipients): a finished session is added by
/// its SMTP session and written behind by a <see cref="BatchingLogWriter{T}"/> on a connection of its
/// own — logging never slows down or fails an SMTP session. After a written batch, sessions older
/// than logs.retentionDays are pruned, at most once a day.
/// </summary>
public sealed class SessionLogRepository : IDisposable
{
    private readonly StoreDatabase _db;
    private readonly LogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogWriteConnection _writeConnection;
    private readonly string _node;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <param name="time">The clock of the retention rule.</param>
    /// <param name="timers">The batching timer's clock; real time unless a test drives it.</param>
    /// <param name="node">The node whose sessions this writer logs (node.name; the rows' node column).</param>
    public SessionLogRepository(StoreDatabase db, LogOptions options, TimeProvider time, ILogger logger, TimeProvider? timers = null, LogWriterOptions? writerOptions = null, string node = "")
    {
        _db = db;
        _node = node;
        _writeConnection = new LogWriteConnection(db);
        _options = options;
        _time = time;
        _logger = logger;
        Writer = new BatchingLogWriter<InboundSessionRecord>("session log", Write, logger, timers ?? TimeProvider.System, writerOptions);
    }

    /// <summary>The write-behind; the host stops it after the listeners, which flushes what is left.</summary>
    public BatchingLogWriter<InboundSessionRecord> Writer { get; }

    /// <summary>Queues a finished session; never waits for the database.</summary>
    public void Add(InboundSessionRecord record) => Writer.Append(record);

    /// <summary>Deletes sessions older than logs.retentionDays, at most once a day; returns the rows deleted.</summary>
    public int PruneIfDue()
    {
        var now = _time.GetUtcNow();
        if (now < _nextPrune) return 0;
        _nextPrune = now.AddDays(1);
        var cutoff = now.AddDays(-_options.RetentionDays).ToUnixTimeMilliseconds();
        try
        {
            using var c = _db.Connect();
            c.BeginUnlocked();
            var n = c.Execute("""
                DELETE FROM inbound_recipients WHERE session_id IN (SELECT id FROM inbound_sessions WHERE started_at < @cutoff);
                DELETE FROM inbound_sessions WHERE started_at < @cutoff;
                """, ("@cutoff", cutoff));
            c.Commit();
            if (n > 0) _logger.LogInformation("session log: removed {Count} rows older than {Days} days", n, _options.RetentionDays);
            return n;
        }
        catch (System.Data.Common.DbException ex)
        {
            // Tried again tomorrow; the rows only take space meanwhile.
            _logger.LogError(ex, "pruning the session log failed");
            return 0;
        }
    }

    public void Dispose()
    {
        Writer.Dispose();
        _writeConnection.Dispose();
    }

    /// <summary>One batch, one transaction (a session row and its recipient rows), then the daily prune.</summary>
    private void Write(IReadOnlyList<InboundSessionRecord> batch)
    {
        _writeConnection.InTransaction(c =>
        {
            // A session's row is written when it ends, or earlier in parts: the newest state replaces it
            // (the last record of an id in the batch; one statement may not update a row twice).
            var sessions = batch.GroupBy(rec => rec.Id).Select(g => g.Last()).Select(rec => new object?[]
            {
                rec.Id, rec.StartedAt.ToUnixTimeMilliseconds(), rec.EndedAt?.ToUnixTimeMilliseconds(), rec.Listener, rec.ClientIp, rec.Helo,
                rec.TlsProtocol, rec.TlsCipher, rec.Messages, rec.EndReason, rec.Account, rec.AuthFailures, _node, rec.ReverseName,
            }).ToList();
            c.InsertRows("INSERT INTO inbound_sessions(id, started_at, ended_at, listener, client_ip, helo, tls_protocol, tls_cipher, messages, end_reason, account, auth_failures, node, reverse_name)",
                sessions, """
                ON CONFLICT(id) DO UPDATE SET started_at=excluded.started_at, ended_at=excluded.ended_at, listener=excluded.listener,
                  client_ip=excluded.client_ip, helo=excluded.helo, tls_protocol=excluded.tls_protocol, tls_cipher=excluded.tls_cipher,
                  messages=excluded.messages, end_reason=excluded.end_reason, account=excluded.account, auth_failures=excluded.auth_failures,
                  node=excluded.node, reverse_name=excluded.reverse_name
                """);
            var recipients = batch.SelectMany(rec => rec.Recipients.Select(e => new object?[]
            {
                rec.Id, e.At.ToUnixTimeMilliseconds(), e.MailFromDomain, e.RecipientDomain, e.Accepted ? 1 : 0, e.Reply, rec.TlsProtocol, rec.TlsCipher,
                e.MailFrom, e.Recipient, e.Refusal,
            })).ToList();
            c.InsertRows("INSERT INTO inbound_recipients(session_id, at, mail_from_domain, recipient_domain, accepted, reply, tls_protocol, tls_cipher, mail_from, recipient, refusal)", recipients);
        });
        PruneIfDue();
    }
}
