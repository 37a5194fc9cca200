using Microsoft.Data.Sqlite;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The store as the CLI's read commands open it (<see cref="StoreDatabase.OpenForReading"/>): it reads
/// what was written, including what only the write-ahead log holds, and it cannot write. (On a full
/// disk, where this matters: tests/SecureMx.IntegrationTests/Cli/FullDiskCommandTests.cs.)
/// </summary>
public sealed class StoreReadOnlyTests
{
    [Fact]
    public void ItReadsWhatAWriterOnTheSameStoreHasCommittedAndCannotWrite()
    {
        using var dir = new TempDirectory();
        var writer = StoreDatabase.OpenMigrated(dir.Path);
        using var held = writer.Connect(); // an open connection (as a running server's): the change stays in the write-ahead log
        new MailboxRepository(writer, TimeProvider.System).AddDomain("example.test");
        Assert.True(new FileInfo(dir.Combine(StoreDatabase.FileName + "-wal")).Length > 0);

        var reader = StoreDatabase.OpenForReading(dir.Path);

        Assert.True(reader.IsReadOnly);
        Assert.Equal(["example.test"], new MailboxRepository(reader, TimeProvider.System).ListDomains());
        var refused = Assert.Throws<SqliteException>(() => new MailboxRepository(reader, TimeProvider.System).AddDomain("other.test"));
        Assert.Equal(8, refused.SqliteErrorCode); // SQLITE_READONLY
        Assert.Throws<InvalidOperationException>(() => reader.ConnectForLogWrites());
        reader.ReleasePooledConnections();
        writer.ReleasePooledConnections();
    }

    [Fact]
    public void AStoreWithAnOlderSchemaIsMigratedFirst()
    {
        using var dir = new TempDirectory();
        using (var c = new SqliteConnection($"Data Source={dir.Combine(StoreDatabase.FileName)};Pooling=False"))
        {
            // A store of the release before the last step: every step but that one.
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;\n" + string.Join("\n", StoreSchema.Migrations[..^1]) + $"\nPRAGMA user_version = {StoreSchema.Migrations.Length - 1};";
            cmd.ExecuteNonQuery();
        }

        var reader = StoreDatabase.OpenForReading(dir.Path);

        Assert.False(reader.IsReadOnly);
        Assert.Equal((long)StoreSchema.Migrations.Length, reader.Scalar("PRAGMA user_version"));
        reader.ReleasePooledConnections();
    }
}
