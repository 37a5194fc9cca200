using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace SecureMx.Spool;

/// <summary>
/// Read connections of the queue database kept open with the statements they have run, prepared: each
/// delivery reads its message (envelope, recipients, the inline data's row) and the scheduler looks for
/// due messages many times a second; parsing and planning each statement anew was a third of the CPU of
/// deferring a suspended destination's due message (0.11 → 0.07 ms) and a few per cent of a delivery's.
/// Microsoft.Data.Sqlite prepares per command and finalizes a connection's statements when it goes back
/// to its own pool, so the queue keeps its readers itself. At most <see cref="MaxIdle"/> wait here; one
/// more in use at a busy moment is closed when given back.
/// </summary>
internal sealed class QueueReaderPool(Func<SqliteConnection> open) : IDisposable
{
    /// <summary>Idle connections kept: the delivery workers, the scheduler and the metrics reading at once.</summary>
    public const int MaxIdle = 8;

    private readonly ConcurrentBag<PreparedConnection> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    /// <summary>A reader for this thread alone until it is disposed, which gives its connection back.</summary>
    public Reader Rent()
    {
        if (_idle.TryTake(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            return new Reader(this, connection);
        }
        return new Reader(this, new PreparedConnection(open()));
    }

    private void Return(PreparedConnection connection)
    {
        if (!_disposed)
        {
            if (Interlocked.Increment(ref _idleCount) <= MaxIdle)
            {
                _idle.Add(connection);
                // Disposed meanwhile: whatever is idle now is closed here or by Dispose, never left open.
                if (_disposed) CloseIdle();
                return;
            }
            Interlocked.Decrement(ref _idleCount);
        }
        connection.Close();
    }

    private void CloseIdle()
    {
        while (_idle.TryTake(out var connection)) connection.Close();
    }

    /// <summary>Closes the idle connections; one lent out is closed when given back.</summary>
    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }

    /// <summary>
    /// One lending of a pooled connection. Disposing it gives the connection back, once: a second dispose
    /// (a stream over an inline message disposed twice) must not put it in the pool twice, where two
    /// threads would get it at once. Used after that, it throws.
    /// </summary>
    public sealed class Reader : IDisposable
    {
        private readonly QueueReaderPool _pool;
        private PreparedConnection? _lent;

        internal Reader(QueueReaderPool pool, PreparedConnection lent)
        {
            _pool = pool;
            _lent = lent;
        }

        private PreparedConnection Lent => _lent ?? throw new ObjectDisposedException(nameof(Reader), "the queue reader was given back");

        public SqliteConnection Connection => Lent.Connection;

        /// <summary>
        /// The statement <paramref name="sql"/> (a constant: each text is kept), prepared on the connection's first
        /// use of it, with <paramref name="values"/> bound in the order of their names at that first use.
        /// </summary>
        public SqliteCommand Statement(string sql, params ReadOnlySpan<(string Name, object? Value)> values) => Lent.Statement(sql, values);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _lent, null) is { } connection) _pool.Return(connection);
        }
    }

    /// <summary>One open read connection and its prepared statements, keyed by their SQL text.</summary>
    internal sealed class PreparedConnection(SqliteConnection connection)
    {
        private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        public SqliteCommand Statement(string sql, ReadOnlySpan<(string Name, object? Value)> values)
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

        public void Close()
        {
            foreach (var cmd in _statements.Values) cmd.Dispose();
            _statements.Clear();
            Connection.Dispose();
        }
    }
}
