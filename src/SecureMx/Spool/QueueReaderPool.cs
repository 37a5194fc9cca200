using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace SecureMx.Spool;

/// <summary>
/// Read connections of the queue database kept open with the statements they have run, prepared: each
/// delivery reads its message (envelope, recipients, the inline data's row) and the scheduler looks for
/// due messages many times a second, and a statement parsed and planned anew each time was most of the
/// SQLite time of a deferral and a few per cent of the server's CPU at 20 inbound sessions.
/// Microsoft.Data.Sqlite prepares per command and finalizes a connection's statements when it goes back
/// to its own pool, so the queue keeps its readers itself. At most <see cref="MaxIdle"/> wait here; one
/// more in use at a busy moment is closed when given back.
/// </summary>
internal sealed class QueueReaderPool(Func<SqliteConnection> open) : IDisposable
{
    /// <summary>Idle readers kept: the delivery workers, the scheduler and the metrics reading at once.</summary>
    public const int MaxIdle = 8;

    private readonly ConcurrentBag<Reader> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    /// <summary>A reader for this thread alone until it is disposed, which gives it back.</summary>
    public Reader Rent()
    {
        if (_idle.TryTake(out var reader))
        {
            Interlocked.Decrement(ref _idleCount);
            return reader;
        }
        return new Reader(this, open());
    }

    private void Return(Reader reader)
    {
        if (!_disposed)
        {
            if (Interlocked.Increment(ref _idleCount) <= MaxIdle)
            {
                _idle.Add(reader);
                // Disposed meanwhile: whatever is idle now is closed here or by Dispose, never left open.
                if (_disposed) CloseIdle();
                return;
            }
            Interlocked.Decrement(ref _idleCount);
        }
        reader.Close();
    }

    private void CloseIdle()
    {
        while (_idle.TryTake(out var reader)) reader.Close();
    }

    /// <summary>Closes the idle readers; one in use is closed when given back.</summary>
    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }

    /// <summary>One open read connection and its prepared statements, keyed by their SQL text.</summary>
    public sealed class Reader : IDisposable
    {
        private readonly QueueReaderPool _pool;
        private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

        internal Reader(QueueReaderPool pool, SqliteConnection connection)
        {
            _pool = pool;
            Connection = connection;
        }

        public SqliteConnection Connection { get; }

        /// <summary>
        /// The statement <paramref name="sql"/> (a constant: each text is kept), prepared on first use, with
        /// <paramref name="values"/> bound in the order of their names at that first use.
        /// </summary>
        public SqliteCommand Statement(string sql, params ReadOnlySpan<(string Name, object? Value)> values)
        {
            if (!_statements.TryGetValue(sql, out var cmd))
            {
                cmd = Connection.CreateCommand();
                try
                {
                    cmd.CommandText = sql;
                    foreach (var (name, _) in values) cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
                    cmd.Prepare();
                }
                catch
                {
                    cmd.Dispose();
                    throw;
                }
                _statements.Add(sql, cmd);
            }
            if (cmd.Parameters.Count != values.Length) throw new ArgumentException($"the statement takes {cmd.Parameters.Count} values, not {values.Length}", nameof(values));
            for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i].Value ?? DBNull.Value;
            return cmd;
        }

        /// <summary>Gives the reader back to its pool (every reader of the statements must be disposed first).</summary>
        public void Dispose() => _pool.Return(this);

        internal void Close()
        {
            foreach (var cmd in _statements.Values) cmd.Dispose();
            _statements.Clear();
            Connection.Dispose();
        }
    }
}
