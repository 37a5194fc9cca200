using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SecureMx.Store;

/// <summary>
/// Write-behind for log rows (the session log, the delivery log): <see cref="Append(T)"/> never waits
/// for the database — an SMTP session or a queue worker only adds to a list — and a timer writes
/// the rows in batches, one transaction each, on a thread-pool thread.
/// <para>
/// Faults: when the database refuses a batch (full disk, I/O error, a lock past the busy timeout),
/// the rows stay queued and the write is tried again after <see cref="LogWriterOptions.RetryDelay"/>;
/// the backlog is bounded by <see cref="LogWriterOptions.Capacity"/>, beyond which new rows are
/// dropped, counted in <see cref="Dropped"/> and logged (once when dropping starts, and the count
/// when writing works again). Log rows are never worth blocking or failing mail for.
/// </para>
/// <see cref="Flush"/> writes everything now (a query that must see the rows calls it); the host's
/// stop calls <see cref="StopAsync"/>, which flushes, so rows queued at shutdown are written.
/// </summary>
public sealed class BatchingLogWriter<T> : IHostedService, IDisposable
{
    private readonly string _name;
    private readonly Action<IReadOnlyList<T>> _writeBatch;
    private readonly ILogger _logger;
    private readonly LogWriterOptions _options;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();      // guards the fields below
    private readonly Lock _writing = new();   // one batch write at a time, in order
    private readonly List<T> _pending = [];
    private bool _armed;
    private bool _backingOff; // the last write failed: wait for the retry, however many rows arrive
    private bool _disposed;
    private long _dropped;
    private long _droppedUnreported;

    /// <param name="name">What the rows are, for log lines ("delivery log").</param>
    /// <param name="writeBatch">Writes the rows in one transaction; throws when the database refuses them.</param>
    /// <param name="timers">The clock of the batching timer: real time in the server (a write-behind detail, not a mail rule).</param>
    public BatchingLogWriter(string name, Action<IReadOnlyList<T>> writeBatch, ILogger logger, TimeProvider timers, LogWriterOptions? options = null)
    {
        _name = name;
        _writeBatch = writeBatch;
        _logger = logger;
        _options = options ?? new LogWriterOptions();
        _timer = timers.CreateTimer(_ => FlushFromTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Rows not written yet.</summary>
    public int Pending
    {
        get { lock (_gate) return _pending.Count; }
    }

    /// <summary>Rows dropped because the backlog was full, since the start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Append(T row) => Append([row]);

    public void Append(IEnumerable<T> rows)
    {
        TimeSpan? due;
        lock (_gate)
        {
            foreach (var row in rows)
            {
                if (_pending.Count >= _options.Capacity || _disposed)
                {
                    Interlocked.Increment(ref _dropped);
                    if (_droppedUnreported++ == 0)
                    {
                        if (_disposed) _logger.LogWarning("{Log}: a row arrived after the writer stopped and is dropped", _name);
                        else _logger.LogWarning("{Log}: backlog full ({Capacity} rows): new rows are dropped until the database takes the backlog", _name, _options.Capacity);
                    }
                    continue;
                }
                _pending.Add(row);
            }
            due = _pending.Count >= _options.BatchSize && !_backingOff ? Arm(TimeSpan.Zero, force: true)
                : _pending.Count > 0 ? Arm(_options.Delay, force: false)
                : null;
        }
        Schedule(due);
    }

    /// <summary>Writes every pending row now; false when the database refused some (they stay queued for the retry).</summary>
    public bool Flush()
    {
        lock (_writing)
        {
            while (true)
            {
                List<T> batch;
                lock (_gate)
                {
                    if (_pending.Count == 0)
                    {
                        ReportDrops();
                        return true;
                    }
                    batch = _pending.GetRange(0, Math.Min(_pending.Count, _options.BatchSize));
                }
                try
                {
                    _writeBatch(batch);
                }
                catch (Exception ex)
                {
                    // Whatever the cause (mostly a DbException), the rows are kept and the process goes on:
                    // this runs on a timer thread, where an escaping exception would end the server.
                    _logger.LogError(ex, "{Log}: writing {Count} rows failed; {Pending} rows kept for a retry in {Retry}", _name, batch.Count, Pending, _options.RetryDelay);
                    TimeSpan? retry;
                    lock (_gate)
                    {
                        _backingOff = true;
                        retry = Arm(_options.RetryDelay, force: true);
                    }
                    Schedule(retry);
                    return false;
                }
                lock (_gate)
                {
                    _pending.RemoveRange(0, batch.Count);
                    _backingOff = false;
                }
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The host stops: what is queued is written now (the writers that append stop before this one).</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    /// <summary>Writes what is left and stops the timer; rows appended afterwards are dropped and counted.</summary>
    public void Dispose()
    {
        if (!Flush()) _logger.LogError("{Log}: {Count} rows are lost: the database refused them at shutdown", _name, Pending);
        lock (_gate) _disposed = true;
        _timer.Dispose();
    }

    private void FlushFromTimer()
    {
        lock (_gate) _armed = false;
        Flush();
    }

    /// <summary>
    /// Under the gate: whether to (re)start the timer for a flush after <paramref name="due"/> — an
    /// armed timer is moved only when <paramref name="force"/>. <see cref="Schedule"/> then starts it
    /// outside the gate, since a timer may call back at once (a zero due time).
    /// </summary>
    private TimeSpan? Arm(TimeSpan due, bool force)
    {
        if (_disposed || (_armed && !force)) return null;
        _armed = true;
        return due;
    }

    private void Schedule(TimeSpan? due)
    {
        if (due is not { } d) return;
        try
        {
            _timer.Change(d, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed in between: Dispose wrote what was pending.
        }
    }

    private void ReportDrops()
    {
        if (_droppedUnreported == 0) return;
        _logger.LogWarning("{Log}: {Count} rows were dropped while the backlog was full", _name, _droppedUnreported);
        _droppedUnreported = 0;
    }
}
