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
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;

    internal StoreConnection(SqliteConnection connection) => _connection = connection;

    /// <summary>
    /// Starts a transaction that writes. SQLite: BEGIN IMMEDIATE, so the write lock is held from the
    /// first check on, and a check ("is the address free?") and the write that follows see one state.
    /// </summary>
    public void BeginWrite() => _transaction = _connection.BeginTransaction(deferred: false);

    /// <summary>Starts a transaction that only reads: several queries see the same rows (SQLite: a deferred BEGIN).</summary>
    public void BeginRead() => _transaction = _connection.BeginTransaction(deferred: true);

    public void Commit()
    {
        _transaction?.Commit();
        _transaction?.Dispose();
        _transaction = null;
    }

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        return cmd.ExecuteScalar();
    }

    public List<T> Rows<T>(string sql, Func<DbDataReader, T> row, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        return Read(cmd, row);
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        return cmd.ExecuteNonQuery();
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
        _transaction?.Dispose();
        _connection.Dispose();
    }
}
