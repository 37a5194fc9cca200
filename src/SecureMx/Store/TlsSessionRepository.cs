using System.Data.Common;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;

namespace SecureMx.Store;

/// <summary>
/// The counted outbound sessions of TLS reporting (tls_sessions): remote delivery records each session
/// (<see cref="ITlsSessionRecorder"/>), a <see cref="BatchingLogWriter{T}"/> adds them up per batch and
/// adds the sums to the day's rows on a connection of its own (ON CONFLICT … sessions + excluded.sessions:
/// several nodes count into the same rows). Never slows down or fails a delivery. Rows older than
/// <see cref="KeptDays"/> days are pruned after a batch, at most once a day.
/// </summary>
public sealed class TlsSessionRepository : ITlsSessionRecorder, IDisposable
{
    /// <summary>Days of counts kept: a report that could not be sent is tried for a few days, then dropped.</summary>
    public const int KeptDays = 8;

    private const string Key = "day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, receiving_mx, receiving_ip";

    private readonly StoreDatabase _db;
    private readonly LogWriteConnection _writeConnection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <param name="time">The clock of the retention rule.</param>
    /// <param name="timers">The batching timer's clock; real time unless a test drives it.</param>
    public TlsSessionRepository(StoreDatabase db, TimeProvider time, ILogger logger, TimeProvider? timers = null, LogWriterOptions? options = null)
    {
        _db = db;
        _time = time;
        _logger = logger;
        _writeConnection = new LogWriteConnection(db);
        Writer = new BatchingLogWriter<TlsSessionResult>("TLS session counts", Write, logger, timers ?? TimeProvider.System, options);
    }

    /// <summary>The write-behind; the host stops it after the queue, which flushes what is left.</summary>
    public BatchingLogWriter<TlsSessionResult> Writer { get; }

    public void Record(TlsSessionResult result) => Writer.Append(result);

    /// <summary>Writes the counts not written yet.</summary>
    public void Flush() => Writer.Flush();

    /// <summary>The recipient domains with sessions counted on <paramref name="day"/> (00:00 UTC).</summary>
    public List<string> Domains(DateTimeOffset day)
    {
        Flush();
        return _db.Rows("SELECT DISTINCT policy_domain FROM tls_sessions WHERE day=@day ORDER BY policy_domain",
            r => r.GetString(0), ("@day", day.ToUnixTimeMilliseconds()));
    }

    /// <summary>Every count of <paramref name="domain"/> on <paramref name="day"/> (00:00 UTC).</summary>
    public List<TlsSessionCount> Counts(string domain, DateTimeOffset day)
    {
        Flush();
        return _db.Rows($"SELECT {Key}, sessions, detail FROM tls_sessions WHERE day=@day AND policy_domain=@d ORDER BY {Key}",
            Read, ("@day", day.ToUnixTimeMilliseconds()), ("@d", domain));
    }

    public void Dispose()
    {
        Writer.Dispose();
        _writeConnection.Dispose();
    }

    private void Write(IReadOnlyList<TlsSessionResult> batch)
    {
        var sums = batch.GroupBy(Row)
            .Select(g => g.Key with { Sessions = g.LongCount(), Detail = g.Last().Detail })
            .Select(c => new object?[]
            {
                c.Day.ToUnixTimeMilliseconds(), c.PolicyDomain, c.PolicyType, c.PolicyString, c.MxHost, c.ResultType, c.SendingIp,
                c.ReceivingMx, c.ReceivingIp, c.Sessions, c.Detail,
            }).ToList();
        _writeConnection.InTransaction(c => c.InsertRows($"INSERT INTO tls_sessions({Key}, sessions, detail)", sums, $"""
            ON CONFLICT({Key}) DO UPDATE SET sessions = tls_sessions.sessions + excluded.sessions,
              detail = COALESCE(excluded.detail, tls_sessions.detail)
            """));
        PruneIfDue();
    }

    /// <summary>The row a session counts in (Sessions and Detail are set by the caller).</summary>
    private static TlsSessionCount Row(TlsSessionResult s) => new(
        UtcDay.Of(s.At), s.PolicyDomain.ToLowerInvariant(), s.PolicyType.Name(), string.Join('\n', s.PolicyStrings), string.Join('\n', s.MxPatterns),
        s.Failure?.Name() ?? "", s.SendingIp ?? "", s.ReceivingMx ?? "", s.ReceivingIp ?? "", 0, null);

    private void PruneIfDue()
    {
        var now = _time.GetUtcNow();
        if (now < _nextPrune) return;
        _nextPrune = now.AddDays(1);
        try
        {
            var n = _db.Execute("DELETE FROM tls_sessions WHERE day < @cutoff", ("@cutoff", UtcDay.Of(now).AddDays(-KeptDays).ToUnixTimeMilliseconds()));
            if (n > 0) _logger.LogInformation("TLS session counts: removed {Count} rows older than {Days} days", n, KeptDays);
        }
        catch (DbException ex)
        {
            _logger.LogError(ex, "pruning the TLS session counts failed");
        }
    }

    private static TlsSessionCount Read(DbDataReader r) => new(
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        r.GetString(6), r.GetString(7), r.GetString(8), r.GetInt64(9), r.IsDBNull(10) ? null : r.GetString(10));
}
