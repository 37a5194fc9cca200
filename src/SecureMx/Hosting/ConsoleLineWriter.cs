using System.Text;

namespace SecureMx.Hosting;

/// <summary>
/// Log lines to a stream (standard output), written by one thread in batches: the first line after a quiet
/// spell wakes the thread, which then waits <see cref="GatherWindow"/> and writes everything that arrived
/// meanwhile with one write(2). The console logger of Microsoft.Extensions.Logging wakes its thread for every
/// line and writes each on its own: with two lines per message, a wake-up and a context switch each, ~8 % of
/// the server's CPU per message (bench/, A/B at 20 sessions). A line is late by at most the window; the lines
/// still waiting are written on <see cref="Dispose"/> (the host's shutdown) and by <see cref="Flush"/>, which
/// the provider calls on process exit and on an unhandled exception.
/// <para>
/// Bounded as the console logger is by default: a logging thread waits while
/// <see cref="DefaultMaxPendingLines"/> are pending (an output that does not drain slows the logging down). A
/// line is never dropped — unlike the store's log rows (<see cref="Store.BatchingLogWriter{T}"/>), which may be.
/// </para>
/// </summary>
internal sealed class ConsoleLineWriter : IDisposable
{
    public static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(20);
    public const int DefaultMaxPendingLines = 10_000;

    private readonly Stream _output;
    private readonly TimeSpan _window;
    private readonly int _maxPending;
    private readonly object _gate = new(); // _pending, _writerIdle, _completed
    private readonly object _writeLock = new(); // one writer of _output at a time, batches in the order taken
    private readonly Thread _thread;
    private List<string> _pending = new(64);
    private List<string> _spare = new(64);
    private bool _writerIdle; // the thread waits for a first line: the next Enqueue wakes it
    private bool _completed;
    private byte[] _bytes = new byte[16 * 1024];

    public ConsoleLineWriter(Stream output, TimeSpan? window = null, int maxPendingLines = DefaultMaxPendingLines)
    {
        _output = output;
        _window = window ?? GatherWindow;
        _maxPending = maxPendingLines;
        _thread = new Thread(Run) { IsBackground = true, Name = "log-writer" };
        _thread.Start();
    }

    public void Enqueue(string line)
    {
        lock (_gate)
        {
            while (_pending.Count >= _maxPending && !_completed) Monitor.Wait(_gate);
            if (!_completed)
            {
                _pending.Add(line);
                if (_writerIdle)
                {
                    _writerIdle = false;
                    Monitor.PulseAll(_gate);
                }
                return;
            }
        }
        // After Dispose (lines of the host's last moments): written at once, by the caller.
        lock (_writeLock) WriteLines([line]);
    }

    /// <summary>Writes every pending line now, on the caller's thread.</summary>
    public void Flush()
    {
        lock (_writeLock) WriteLines(TakePending());
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            Monitor.PulseAll(_gate);
        }
        // The thread writes what is pending and ends (lines from now on are written by their callers). An output
        // that blocks (a full pipe nobody reads) must not hold the shutdown: as the console logger, give up after 5 s.
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (_pending.Count == 0 && !_completed)
                {
                    _writerIdle = true;
                    Monitor.Wait(_gate);
                }
                _writerIdle = false;
                if (_pending.Count == 0) return; // completed and drained
                // The lines of the next few ms share the write; Dispose cuts the wait short.
                if (!_completed) Monitor.Wait(_gate, _window);
            }
            Flush();
        }
    }

    /// <summary>The pending lines, swapped out under the gate; waiting loggers may go on. Called under the write lock.</summary>
    private List<string> TakePending()
    {
        lock (_gate)
        {
            var taken = _pending;
            _spare.Clear();
            _pending = _spare;
            _spare = taken;
            Monitor.PulseAll(_gate); // loggers waiting for room
            return taken;
        }
    }

    private void WriteLines(List<string> lines)
    {
        if (lines.Count == 0) return;
        int length = 0;
        foreach (var line in lines)
        {
            int max = Encoding.UTF8.GetMaxByteCount(line.Length);
            if (length + max > _bytes.Length) Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, length + max));
            length += Encoding.UTF8.GetBytes(line, _bytes.AsSpan(length));
        }
        try
        {
            _output.Write(_bytes, 0, length);
            _output.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Nowhere left to log to (the output was closed): the lines are lost, the server goes on.
        }
        if (_bytes.Length > 1024 * 1024) _bytes = new byte[16 * 1024]; // one huge batch does not pin its buffer
    }
}
