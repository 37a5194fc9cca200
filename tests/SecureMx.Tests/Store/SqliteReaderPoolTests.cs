using System.Data;
using Microsoft.Data.Sqlite;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>Read connections kept open with their statements prepared (the queue's, the store's lookups): bounded, never holding a snapshot.</summary>
public sealed class SqliteReaderPoolTests : IDisposable
{
    private const string ById = "SELECT name FROM t WHERE id=$id";

    private readonly TempDirectory _dir = new();
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly List<SqliteConnection> _opened = [];

    public SqliteReaderPoolTests()
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = _dir.Combine("q.db"), Pooling = false }.ToString();
        _writer = new SqliteConnection(_connectionString);
        _writer.Open();
        Execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');");
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        lock (_opened) _opened.Add(c);
        return c;
    }

    private object? Execute(string sql)
    {
        using var cmd = _writer.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    [Fact]
    public void AReaderGivenBackIsRentedAgainWithItsStatementPreparedAndNewValuesBound()
    {
        using var pool = new SqliteReaderPool(Open);
        SqliteCommand first;
        using (var reader = pool.Rent())
        {
            first = reader.Statement(ById, ("$id", 1L));
            Assert.Equal("one", first.ExecuteScalar());
        }
        using (var again = pool.Rent())
        {
            var second = again.Statement(ById, ("$id", 2L));
            Assert.Same(first, second);
            Assert.Equal("two", second.ExecuteScalar());
            Assert.Null(again.Statement(ById, ("$id", null)).ExecuteScalar()); // null binds as NULL
        }
        Assert.Single(_opened);
    }

    [Fact]
    public void AtMostMaxIdleReadersStayOpenAndTheRestAreClosedWhenGivenBack()
    {
        using var pool = new SqliteReaderPool(Open);
        var readers = Enumerable.Range(0, SqliteReaderPool.MaxIdle + 3).Select(_ => pool.Rent()).ToList();
        foreach (var reader in readers) reader.Dispose();

        Assert.Equal(SqliteReaderPool.MaxIdle + 3, _opened.Count);
        Assert.Equal(3, _opened.Count(c => c.State == ConnectionState.Closed));
    }

    [Fact]
    public void DisposingThePoolClosesTheIdleReadersAndAReaderGivenBackLater()
    {
        var pool = new SqliteReaderPool(Open);
        pool.Rent().Dispose();
        var inUse = pool.Rent();
        var idle = pool.Rent();
        var idleConnection = idle.Connection;
        idle.Dispose();

        pool.Dispose();
        Assert.Equal(ConnectionState.Closed, idleConnection.State);
        Assert.Equal(ConnectionState.Open, inUse.Connection.State);
        inUse.Dispose();
        Assert.All(_opened, c => Assert.Equal(ConnectionState.Closed, c.State));
    }

    [Fact]
    public void ClearClosesTheIdleReadersAndOneLentOutWhenItIsGivenBack()
    {
        using var pool = new SqliteReaderPool(Open);
        var lent = pool.Rent();
        var idle = pool.Rent();
        var idleConnection = idle.Connection;
        idle.Dispose();

        pool.Clear();
        Assert.Equal(ConnectionState.Closed, idleConnection.State);
        var lentConnection = lent.Connection;
        Assert.Equal(ConnectionState.Open, lentConnection.State);
        lent.Dispose();
        Assert.Equal(ConnectionState.Closed, lentConnection.State);

        using var fresh = pool.Rent(); // the pool goes on with new connections
        Assert.Equal(3, _opened.Count);
        Assert.Equal("one", fresh.Statement(ById, ("$id", 1L)).ExecuteScalar());
    }

    [Fact]
    public void ADiscardedReaderClosesItsConnectionAndLaterDisposesDoNothing()
    {
        using var pool = new SqliteReaderPool(Open);
        var reader = pool.Rent();
        var connection = reader.Connection;
        reader.Discard();
        reader.Dispose();

        Assert.Equal(ConnectionState.Closed, connection.State);
        using var next = pool.Rent();
        Assert.NotSame(connection, next.Connection);
        Assert.Throws<ObjectDisposedException>(() => reader.Connection);
    }

    [Fact]
    public void AReaderDisposedTwiceGivesItsConnectionBackOnce()
    {
        using var pool = new SqliteReaderPool(Open);
        var reader = pool.Rent();
        reader.Dispose();
        reader.Dispose(); // a stream over an inline message disposed twice disposes its reader twice

        using var first = pool.Rent();
        using var second = pool.Rent();
        Assert.NotSame(first.Connection, second.Connection);
        Assert.Equal(2, _opened.Count);
    }

    [Fact]
    public void AReaderUsedAfterItWasGivenBackThrows()
    {
        using var pool = new SqliteReaderPool(Open);
        var reader = pool.Rent();
        reader.Dispose();
        using var next = pool.Rent(); // has the same connection now

        Assert.Throws<ObjectDisposedException>(() => reader.Statement(ById, ("$id", 1L)));
        Assert.Throws<ObjectDisposedException>(() => reader.Connection);
        Assert.Equal("one", next.Statement(ById, ("$id", 1L)).ExecuteScalar());
    }

    [Fact]
    public void AnIdleReaderHoldsNoSnapshotSoACheckpointEmptiesTheWriteAheadLog()
    {
        using var pool = new SqliteReaderPool(Open);
        using (var reader = pool.Rent())
        {
            using var rows = reader.Statement("SELECT name FROM t WHERE id >= $id", ("$id", 1L)).ExecuteReader();
            Assert.True(rows.Read()); // one row of two read: the statement stops mid-way
        }
        Execute("INSERT INTO t VALUES (3, 'three')");

        // wal_checkpoint(TRUNCATE) returns (busy, log frames, checkpointed frames); busy = 1 while a reader holds an old snapshot.
        using var cmd = _writer.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        using var result = cmd.ExecuteReader();
        Assert.True(result.Read());
        Assert.Equal(0L, result.GetInt64(0));
        Assert.Equal(0L, new FileInfo(_dir.Combine("q.db-wal")).Length);
    }

    public void Dispose()
    {
        foreach (var c in _opened) c.Dispose();
        _writer.Dispose();
        _dir.Dispose();
    }
}
