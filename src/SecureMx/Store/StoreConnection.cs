using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// One open connection of <see cref="StoreDatabase"/>, optionally inside one transaction, with the
/// helpers every repository needs: a scalar, rows, a statement, a prepared command for batches.
/// Parameters are <c>(name, value)</c> pairs with <c>@name</c> in the SQL; null is written as NULL.
/// Disposing it rolls back a transaction that was not committed.
/// </summary>
public sealed class StoreConnection : IDisposable
{
    // Every configuration write of every node takes this PostgreSQL transaction lock (an arbitrary
    // constant: "SMX" and the write lock's number), as SQLite's BEGIN IMMEDIATE takes the file's.
    internal const long WriteLockKey = 0x534D58_0001;

    private readonly DbConnection _connection;
    private readonly StoreBackend _backend;
    private readonly SqliteReaderPool.Reader? _kept;
    private bool _keptFailed;
    private DbTransaction? _transaction;

    internal StoreConnection(DbConnection connection, StoreBackend backend)
    {
        _connection = connection;
        _backend = backend;
    }

    /// <summary>
    /// A SQLite connection of <see cref="StoreDatabase.ConnectForLookups"/>: <see cref="Scalar"/>, <see cref="Rows"/>
    /// and <see cref="Execute"/> run statements it keeps prepared; disposing it gives it back to its pool, or closes
    /// it when one of them failed (nothing of a connection in an unknown state is kept).
    /// </summary>
    internal StoreConnection(SqliteReaderPool.Reader kept) : this(kept.Connection, StoreBackend.Sqlite)
    {
        _kept = kept;
    }

    /// <summary>
    /// Starts a transaction that writes the configuration. SQLite: BEGIN IMMEDIATE, so the write lock
    /// is held from the first check on, and a check ("is the address free?") and the write that follows
    /// see one state. PostgreSQL: the same by a transaction-level advisory lock that every such
    /// transaction of every node takes first (configuration writes are rare: serialising them costs
    /// nothing, and no check-then-write needs a retry loop for serialization failures).
    /// </summary>
    public void BeginWrite()
    {
        if (_backend == StoreBackend.Sqlite)
        {
            _transaction = ((SqliteConnection)_connection).BeginTransaction(deferred: false);
            return;
        }
        _transaction = _connection.BeginTransaction(IsolationLevel.ReadCommitted);
        Execute("SELECT pg_advisory_xact_lock(@key)", ("@key", WriteLockKey));
    }

    /// <summary>
    /// Starts a transaction whose writes no configuration check depends on (log batches and their
    /// prune, the queue summary, schema steps under their own lock): on PostgreSQL without the
    /// configuration write lock, so that the nodes' log
    /// writers never wait for each other or for an administrator. SQLite has one writer anyway.
    /// </summary>
    public void BeginUnlocked()
    {
        if (_backend == StoreBackend.Sqlite) BeginWrite();
        else _transaction = _connection.BeginTransaction(IsolationLevel.ReadCommitted);
    }

    /// <summary>Starts a transaction that only reads: several queries see the same rows (SQLite: a deferred BEGIN; PostgreSQL: REPEATABLE READ).</summary>
    public void BeginRead() => _transaction = _backend == StoreBackend.Sqlite
        ? ((SqliteConnection)_connection).BeginTransaction(deferred: true)
        : _connection.BeginTransaction(IsolationLevel.RepeatableRead);

    /// <summary>Rolls back an open transaction, if any (one a failed statement left aborted, too).</summary>
    public void Rollback()
    {
        _transaction?.Rollback();
        _transaction?.Dispose();
        _transaction = null;
    }

    public void Commit()
    {
        _transaction?.Commit();
        _transaction?.Dispose();
        _transaction = null;
    }

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        if (_kept is not null) return RunKept(sql, parameters, 0, static (cmd, _) => cmd.ExecuteScalar());
        using var cmd = Command(sql, parameters);
        return cmd.ExecuteScalar();
    }

    public List<T> Rows<T>(string sql, Func<DbDataReader, T> row, params (string Name, object? Value)[] parameters)
    {
        if (_kept is not null) return RunKept(sql, parameters, row, static (cmd, row) => Read(cmd, row));
        using var cmd = Command(sql, parameters);
        return Read(cmd, row);
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        if (_kept is not null) return RunKept(sql, parameters, 0, static (cmd, _) => cmd.ExecuteNonQuery());
        using var cmd = Command(sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Runs the kept statement for <paramref name="sql"/> in the current transaction; a failure marks the connection for closing.</summary>
    private T RunKept<TState, T>(string sql, (string Name, object? Value)[] parameters, TState state, Func<SqliteCommand, TState, T> run)
    {
        try
        {
            var cmd = _kept!.Statement(sql, parameters);
            cmd.Transaction = (SqliteTransaction?)_transaction;
            return run(cmd, state);
        }
        catch
        {
            _keptFailed = true;
            throw;
        }
    }

    /// <summary>Rows per statement of <see cref="InsertRows"/> on PostgreSQL: 100 × 17 columns stays far below its parameter limit.</summary>
    public const int RowsPerInsert = 100;

    /// <summary>
    /// <c>INSERT INTO t(cols) VALUES (…) [onConflict]</c> for every row. PostgreSQL: statements of up to
    /// <see cref="RowsPerInsert"/> rows, each value a parameter: one round trip and one plan per statement
    /// instead of per row over a socket. SQLite: one single-row statement, prepared once and run per row —
    /// it is in-process, so there is no round trip to save, and binding a parameter by name scans the
    /// statement's parameter list (sqlite3_bind_parameter_index): 1 700 names per 100-row statement made
    /// the log writers ~9 % of the server's CPU at 20 inbound sessions.
    /// </summary>
    /// <param name="insertInto">The statement up to VALUES, e.g. <c>INSERT INTO t(a, b)</c>.</param>
    public void InsertRows(string insertInto, IReadOnlyList<object?[]> rows, string onConflict = "")
    {
        if (rows.Count == 0) return;
        if (_backend == StoreBackend.Sqlite)
        {
            InsertRowByRow(insertInto, rows, onConflict);
            return;
        }
        for (int start = 0; start < rows.Count; start += RowsPerInsert)
        {
            int n = Math.Min(RowsPerInsert, rows.Count - start);
            var sql = new System.Text.StringBuilder(insertInto).Append(" VALUES ");
            var parameters = new List<(string Name, object? Value)>();
            for (int i = 0; i < n; i++)
            {
                var row = rows[start + i];
                sql.Append(i == 0 ? "(" : ", (");
                for (int column = 0; column < row.Length; column++)
                {
                    var name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"@r{i}c{column}");
                    if (column > 0) sql.Append(", ");
                    sql.Append(name);
                    parameters.Add((name, row[column]));
                }
                sql.Append(')');
            }
            if (onConflict.Length > 0) sql.Append(' ').Append(onConflict);
            Execute(sql.ToString(), parameters.ToArray());
        }
    }

    private void InsertRowByRow(string insertInto, IReadOnlyList<object?[]> rows, string onConflict)
    {
        int columns = rows[0].Length;
        var sql = new System.Text.StringBuilder(insertInto).Append(" VALUES (");
        var names = new (string Name, object? Value)[columns];
        for (int column = 0; column < columns; column++)
        {
            names[column] = (string.Create(System.Globalization.CultureInfo.InvariantCulture, $"@c{column}"), null);
            sql.Append(column == 0 ? "" : ", ").Append(names[column].Name);
        }
        sql.Append(')');
        if (onConflict.Length > 0) sql.Append(' ').Append(onConflict);
        using var cmd = Command(sql.ToString(), names);
        cmd.Prepare();
        foreach (var row in rows)
        {
            if (row.Length != columns) throw new ArgumentException("every row needs the same number of values", nameof(rows));
            for (int column = 0; column < columns; column++) cmd.Parameters[column].Value = row[column] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>A command in the current transaction, for statements run many times with new values (<see cref="Bind"/>).</summary>
    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.Transaction = _transaction;
        cmd.CommandText = sql;
        Bind(cmd, parameters);
        return cmd;
    }

    /// <summary>Replaces the parameters of <paramref name="cmd"/>.</summary>
    public static void Bind(DbCommand cmd, params (string Name, object? Value)[] parameters)
    {
        cmd.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
    }

    public static List<T> Read<T>(DbCommand cmd, Func<DbDataReader, T> row)
    {
        var list = new List<T>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(row(r));
        return list;
    }

    public void Dispose()
    {
        try
        {
            _transaction?.Dispose();
        }
        catch
        {
            _keptFailed = true;
            throw;
        }
        finally
        {
            _transaction = null;
            if (_kept is null) _connection.Dispose();
            else if (_keptFailed) _kept.Discard();
            else _kept.Dispose();
        }
    }
}
