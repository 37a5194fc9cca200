using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SecureMx.Store;

/// <summary>One RCPT decision in an inbound session.</summary>
public sealed record InboundRecipientEvent(DateTimeOffset At, string? MailFromDomain, string RecipientDomain, bool Accepted, string Reply);

/// <summary>
/// One inbound SMTP session as the session log keeps it: who connected, what TLS it had, and which
/// recipient domains were accepted or refused with which reply. The readiness preview ("who would be
/// refused under mandatory TLS?") is built on these rows.
/// </summary>
public sealed class InboundSessionRecord(string id, DateTimeOffset startedAt, string listener, string clientIp)
{
    public string Id { get; } = id;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public string Listener { get; } = listener;
    public string ClientIp { get; } = clientIp;
    public DateTimeOffset? EndedAt { get; set; }
    public string? Helo { get; set; }
    public string? TlsProtocol { get; set; }
    public string? TlsCipher { get; set; }
    public int Messages { get; set; }
    public string? EndReason { get; set; }
    /// <summary>The mailbox a submission client logged in as.</summary>
    public string? Account { get; set; }
    public int AuthFailures { get; set; }
    public List<InboundRecipientEvent> Recipients { get; } = new();
}

/// <summary>
/// Writes finished session records in batches on a background task: logging must never slow down or
/// fail an SMTP session. Records still queued at shutdown are written before the process exits.
/// </summary>
public sealed class InboundSessionLog(SecureMxStore store, SecureMx.Config.SecureMxOptions options, TimeProvider time, ILogger<InboundSessionLog> logger) : BackgroundService
{
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    private readonly Channel<InboundSessionRecord> _pending = Channel.CreateBounded<InboundSessionRecord>(
        new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Add(InboundSessionRecord record)
    {
        if (!_pending.Writer.TryWrite(record)) logger.LogWarning("session log backlog full, record of session {Id} dropped", record.Id);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<InboundSessionRecord>();
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                Drain(batch);
                await Task.Delay(200, stoppingToken); // let a batch form
                Drain(batch);
                Write(batch);
                PruneIfDue();
            }
        }
        catch (OperationCanceledException)
        {
        }
        Drain(batch);
        Write(batch);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // A loop stopped before it ever ran (BackgroundService skips ExecuteAsync when its token is
        // already cancelled) has written nothing: what is queued is written here, the loop being over.
        var batch = new List<InboundSessionRecord>();
        Drain(batch);
        Write(batch);
    }

    /// <summary>Deletes sessions older than logs.retentionDays, at most once a day.</summary>
    public int PruneIfDue()
    {
        var now = time.GetUtcNow();
        if (now < _nextPrune) return 0;
        _nextPrune = now.AddDays(1);
        var cutoff = now.AddDays(-options.Logs.RetentionDays).ToUnixTimeMilliseconds();
        try
        {
            using var c = store.Open();
            using var tx = c.BeginTransaction();
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                DELETE FROM inbound_recipients WHERE session_id IN (SELECT id FROM inbound_sessions WHERE started_at < $cutoff);
                DELETE FROM inbound_sessions WHERE started_at < $cutoff;
                """;
            cmd.Parameters.AddWithValue("$cutoff", cutoff);
            var n = cmd.ExecuteNonQuery();
            tx.Commit();
            if (n > 0) logger.LogInformation("session log: removed {Count} rows older than {Days} days", n, options.Logs.RetentionDays);
            return n;
        }
        catch (SqliteException ex)
        {
            logger.LogError(ex, "pruning the session log failed");
            return 0;
        }
    }

    private void Drain(List<InboundSessionRecord> batch)
    {
        while (batch.Count < 5000 && _pending.Reader.TryRead(out var r)) batch.Add(r);
    }

    private void Write(List<InboundSessionRecord> batch)
    {
        if (batch.Count == 0) return;
        try
        {
            using var c = store.Open();
            using var tx = c.BeginTransaction();
            using var s = c.CreateCommand();
            s.Transaction = tx;
            s.CommandText = """
                INSERT OR REPLACE INTO inbound_sessions(id, started_at, ended_at, listener, client_ip, helo, tls_protocol, tls_cipher, messages, end_reason, account, auth_failures)
                VALUES($id, $start, $end, $listener, $ip, $helo, $tlsp, $tlsc, $n, $reason, $account, $authfail)
                """;
            using var r = c.CreateCommand();
            r.Transaction = tx;
            r.CommandText = """
                INSERT INTO inbound_recipients(session_id, at, mail_from_domain, recipient_domain, accepted, reply, tls_protocol, tls_cipher)
                VALUES($id, $at, $from, $rcpt, $ok, $reply, $tlsp, $tlsc)
                """;
            foreach (var rec in batch)
            {
                s.Parameters.Clear();
                s.Parameters.AddWithValue("$id", rec.Id);
                s.Parameters.AddWithValue("$start", rec.StartedAt.ToUnixTimeMilliseconds());
                s.Parameters.AddWithValue("$end", (object?)rec.EndedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
                s.Parameters.AddWithValue("$listener", rec.Listener);
                s.Parameters.AddWithValue("$ip", rec.ClientIp);
                s.Parameters.AddWithValue("$helo", (object?)rec.Helo ?? DBNull.Value);
                s.Parameters.AddWithValue("$tlsp", (object?)rec.TlsProtocol ?? DBNull.Value);
                s.Parameters.AddWithValue("$tlsc", (object?)rec.TlsCipher ?? DBNull.Value);
                s.Parameters.AddWithValue("$n", rec.Messages);
                s.Parameters.AddWithValue("$reason", (object?)rec.EndReason ?? DBNull.Value);
                s.Parameters.AddWithValue("$account", (object?)rec.Account ?? DBNull.Value);
                s.Parameters.AddWithValue("$authfail", rec.AuthFailures);
                s.ExecuteNonQuery();
                foreach (var e in rec.Recipients)
                {
                    r.Parameters.Clear();
                    r.Parameters.AddWithValue("$id", rec.Id);
                    r.Parameters.AddWithValue("$at", e.At.ToUnixTimeMilliseconds());
                    r.Parameters.AddWithValue("$from", (object?)e.MailFromDomain ?? DBNull.Value);
                    r.Parameters.AddWithValue("$rcpt", e.RecipientDomain);
                    r.Parameters.AddWithValue("$ok", e.Accepted ? 1 : 0);
                    r.Parameters.AddWithValue("$reply", e.Reply);
                    r.Parameters.AddWithValue("$tlsp", (object?)rec.TlsProtocol ?? DBNull.Value);
                    r.Parameters.AddWithValue("$tlsc", (object?)rec.TlsCipher ?? DBNull.Value);
                    r.ExecuteNonQuery();
                }
            }
            tx.Commit();
        }
        catch (SqliteException ex)
        {
            logger.LogError(ex, "writing {Count} session log records failed", batch.Count);
        }
        batch.Clear();
    }
}
