using Microsoft.Data.Sqlite;
using SecureMx.Store;
using SQLitePCL;

namespace SecureMx.Tests.Store;

public sealed class SqliteLibraryTests
{
    [Fact]
    public void MemoryStatisticsAreOffSoThatNoAllocationTakesTheProcessWideMutex()
    {
        // Configured by the test assembly's module initializer, before any test opened a database, as Program.Main does.
        Assert.True(SqliteLibrary.MemoryStatisticsOff);
        using var c = new SqliteConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "CREATE TABLE t(x TEXT); INSERT INTO t VALUES (randomblob(10000)); SELECT count(*) FROM t";
        Assert.Equal(1L, cmd.ExecuteScalar());
        // With the statistics on, every allocation is counted (under the mutex): the open connection alone holds tens of KiB.
        Assert.Equal(0, raw.sqlite3_memory_used());
    }

    [Fact]
    public void ConfiguringAgainChangesNothing()
    {
        Assert.Equal(raw.SQLITE_OK, SqliteLibrary.Configure());
        Assert.True(SqliteLibrary.MemoryStatisticsOff);
    }
}
