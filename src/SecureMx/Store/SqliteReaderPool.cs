using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// SQLite connections kept open with the statements they have run, prepared, for reads on a hot path:
/// the queue's (each delivery reads its message, the scheduler looks for due messages many times a
/// second) and the store's lookups of every RCPT (Store/StoreDatabase.ConnectForLookups). Parsing and
/// planning each statement anew was a third of the CPU of deferring a suspended destination's due
/// message (0.11 → 0.07 ms) and a few per cent of a delivery's; a store connection opened per RCPT
/// also ran <c>PRAGMA foreign_keys</c> each time. Microsoft.Data.Sqlite prepares per command and
/// finalizes a connection's statements when it goes back to its own pool, so this pool keeps its
/// connections itself. At most <see cref="MaxIdle"/> wait here; one more in use at a busy moment is
/// closed when given back.
/// </summary>
internal sealed class SqliteReaderPool(Func<SqliteConnection> open) : IDisposable
{
    /// <summary>Idle connections kept: the delivery workers, the scheduler and the metrics reading at once.</summary>
    public const int MaxIdle = 8;

    private readonly ConcurrentBag<PreparedConnection> _idle = [];
    private int _idleCount;
    private int _generation; // + 1 at every Clear: a connection opened before it is closed when given back
    private volatile bool _disposed;

    /// <summary>A reader for this thread alone until it is disposed, which gives its connection back.</summary>
    public Reader Rent()
    {
        while (_idle.TryTake(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            if (connection.Generation == Volatile.Read(ref _generation)) return new Reader(this, connection);
            connection.Close(); // idle across a Clear that another thread has not finished yet
        }
        int generation = Volatile.Read(ref _generation);
        return new Reader(this, new PreparedConnection(open(), generation));
    }

    private void Return(PreparedConnection connection)
    {
        if (!_disposed && connection.Generation == Volatile.Read(ref _generation))
        {
            if (Interlocked.Increment(ref _idleCount) <= MaxIdle)
            {
                _idle.Add(connection);
                // Disposed or cleared meanwhile: whatever is idle now is closed here or by them, never left open.
                if (_disposed || connection.Generation != Volatile.Read(ref _generation)) CloseIdle();
                return;
            }
            Interlocked.Decrement(ref _idleCount);
        }
        connection.Close();
    }

    private void CloseIdle()
    {
        while (_idle.TryTake(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            connection.Close();
        }
    }

    /// <summary>
    /// Closes the idle connections, and each one lent out when it is given back: the next reader opens
    /// a new one (before the database file is replaced or its directory moved).
    /// </summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        CloseIdle();
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
        private readonly SqliteReaderPool _pool;
        private PreparedConnection? _lent;

        internal Reader(SqliteReaderPool pool, PreparedConnection lent)
        {
            _pool = pool;
            _lent = lent;
        }

        private PreparedConnection Lent => _lent ?? throw new ObjectDisposedException(nameof(Reader), "the reader was given back");

        public SqliteConnection Connection => Lent.Connection;

        /// <summary>
        /// The statement <paramref name="sql"/> (a constant: each text is kept), prepared on the connection's first
        /// use of it, with <paramref name="values"/> bound in the order of their names at that first use.
        /// </summary>
        public SqliteCommand Statement(string sql, params ReadOnlySpan<(string Name, object? Value)> values) => Lent.Statement(sql, values);

        /// <summary>Closes the connection instead of giving it back (a statement on it failed: nothing of it is kept).</summary>
        public void Discard()
        {
            if (Interlocked.Exchange(ref _lent, null) is { } connection) connection.Close();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _lent, null) is { } connection) _pool.Return(connection);
        }
    }

    /// <summary>One open read connection and its prepared statements, keyed by their SQL text.</summary>
    internal sealed class PreparedConnection(SqliteConnection connection, int generation)
    {
        private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        /// <summary>The pool's generation when it was opened (<see cref="Clear"/>).</summary>
        public int Generation { get; } = generation;

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
