using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.Queue;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The delivery log written behind while its PostgreSQL is stopped (a private server, stopped and
/// started again): appending does not wait, the rows are kept, and once the server is back the writer
/// replaces its broken connection and writes them all.
/// </summary>
public sealed class LogWriterPostgresOutageTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly PostgresServer _server = new();
    private readonly TempDirectory _dir = new();
    private readonly StoreDatabase _db;
    private readonly string _database;
    private readonly StoreOptions _options;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    public LogWriterPostgresOutageTests()
    {
        var database = _server.CreateDatabase();
        _database = database.Name;
        _options = new StoreOptions { ConnectionString = database.ConnectionString, PasswordFile = database.PasswordFile };
        _db = StoreDatabase.Open(_dir.Path, _options);
    }

    public void Dispose()
    {
        _db.ReleasePooledConnections();
        _server.Dispose();
        _dir.Dispose();
    }

    private static DeliveryLogEntry Entry(string id) =>
        new(T0, id, "alice@example.org", "alice@example.org", "bob@dest.test", "mx.dest.test", "192.0.2.1", "delivered", 250, "2.0.0", "2.0.0 Ok",
            "TLSv1.3", "TLS_AES_256_GCM_SHA384", "dane");

    [Fact]
    public void RowsAppendedWhileTheServerIsStoppedAreWrittenOnANewConnectionOnceItIsBack()
    {
        using var log = new DeliveryLogRepository(_db, new RecordingLogger<LogWriterPostgresOutageTests>(_log), new FakeTimeProvider(T0));
        log.Append([Entry("M1")]);
        Assert.True(log.Writer.Flush()); // the writer's connection is open now

        // The server stops with -m immediate, as in a crash; a checkpoint first puts everything committed
        // so far into its data files.
        _server.Execute(_database, "CHECKPOINT");
        _server.Stop();
        var appending = System.Diagnostics.Stopwatch.StartNew();
        log.Append([Entry("M2"), Entry("M3")]);
        Assert.True(appending.Elapsed < TimeSpan.FromSeconds(1), appending.Elapsed.ToString()); // a session never waits for the store
        Assert.False(log.Writer.Flush());
        Assert.Equal(2, log.Writer.Pending);
        Assert.Contains(_log, l => l.Contains("rows kept for a retry", StringComparison.Ordinal));

        _server.Start();
        Assert.True(log.Writer.Flush(), string.Join("\n", _log));
        Assert.Equal(0, log.Writer.Pending);
        // Read as another node would (the pool of _db still holds connections the stop broke).
        var reader = StoreDatabase.OpenUnmigrated(_dir.Path, _options);
        Assert.Equal(["M1", "M2", "M3"], reader.Rows("SELECT message_id FROM delivery_log ORDER BY message_id", r => r.GetString(0)));
        reader.ReleasePooledConnections();
    }
}
