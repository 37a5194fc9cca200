using SecureMx.Config;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// What only the PostgreSQL backend has: the versioned schema under an advisory lock, the password
/// sources, and how an unreachable server shows. Against the test process's private PostgreSQL.
/// </summary>
public sealed class PostgresStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static StoreOptions Fresh() => TestStore.NewPostgresStore();

    [Fact]
    public void ANewDatabaseGetsEveryStepAndASecondOpenFindsNothingToDo()
    {
        var options = Fresh();
        var db = StoreDatabase.OpenUnmigrated(_dir.Path, options);
        Assert.Equal(StoreBackend.PostgreSql, db.Backend);
        Assert.True(db.IsShared);
        Assert.Equal(0, db.SchemaVersion());
        Assert.Equal((0, db.KnownSchemaVersion), db.Migrate());
        Assert.Equal((db.KnownSchemaVersion, db.KnownSchemaVersion), db.Migrate());
        db.ReleasePooledConnections();
    }

    [Fact]
    public async Task NodesStartingTogetherMigrateOneAfterTheOther()
    {
        var options = Fresh();
        var starts = Enumerable.Range(0, 6).Select(_ => Task.Run(() => StoreDatabase.Open(_dir.Path, options))).ToArray();
        var opened = await Task.WhenAll(starts);
        Assert.All(opened, db => Assert.Equal(db.KnownSchemaVersion, db.SchemaVersion()));
        // One row in the version table: no step ran twice.
        Assert.Equal(1L, Convert.ToInt64(opened[0].Scalar("SELECT COUNT(*) FROM schema_version")));
        foreach (var db in opened) db.ReleasePooledConnections();
    }

    [Fact]
    public void AStoreNewerThanThisProgramIsRefused()
    {
        var options = Fresh();
        var db = StoreDatabase.Open(_dir.Path, options);
        db.Execute("UPDATE schema_version SET version = @v", ("@v", (long)db.KnownSchemaVersion + 1));
        var ex = Assert.Throws<StoreException>(() => StoreDatabase.Open(_dir.Path, options));
        Assert.Contains($"schema version {db.KnownSchemaVersion + 1}, newer than this SecureMx knows ({db.KnownSchemaVersion})", ex.Message, StringComparison.Ordinal);
        db.ReleasePooledConnections();
    }

    [Fact]
    public void ASQLiteStoreNewerThanThisProgramIsRefusedToo()
    {
        var db = StoreDatabase.OpenMigrated(_dir.Path);
        db.Execute($"PRAGMA user_version = {db.KnownSchemaVersion + 1}");
        db.ReleasePooledConnections();
        Assert.Contains("newer than this SecureMx knows", Assert.Throws<StoreException>(() => StoreDatabase.OpenMigrated(_dir.Path)).Message, StringComparison.Ordinal);
        Assert.Contains("newer than this SecureMx knows", Assert.Throws<StoreException>(() => StoreDatabase.OpenForReading(_dir.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWrongPasswordFailsToOpenAndIsNotAnUnreachableStore()
    {
        var options = Fresh();
        var wrong = Path.Combine(_dir.Path, "wrong.pw");
        File.WriteAllText(wrong, "not-the-password\n");
        File.SetUnixFileMode(wrong, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var ex = Assert.ThrowsAny<System.Data.Common.DbException>(() => StoreDatabase.Open(_dir.Path, new StoreOptions { ConnectionString = options.ConnectionString, PasswordFile = wrong }));
        Assert.Contains("password authentication failed", ex.Message, StringComparison.Ordinal);
        Assert.False(StoreDatabase.IsUnreachable(ex));
    }

    [Fact]
    public void APasswordFileOthersMayReadIsRefused()
    {
        var options = Fresh();
        var open = Path.Combine(_dir.Path, "open.pw");
        File.Copy(options.PasswordFile, open);
        File.SetUnixFileMode(open, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var ex = Assert.Throws<StoreException>(() => StoreDatabase.Open(_dir.Path, new StoreOptions { ConnectionString = options.ConnectionString, PasswordFile = open }));
        Assert.Contains("may be read by anyone", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePasswordMayComeFromThePgpassFileInstead()
    {
        var options = Fresh();
        var uri = PostgresUri.Parse(options.ConnectionString);
        var pgpass = Path.Combine(_dir.Path, "pgpass");
        File.WriteAllText(pgpass, $"{uri.Host}:{uri.Port}:{uri.Database}:{uri.User}:{File.ReadAllLines(options.PasswordFile)[0]}\n");
        File.SetUnixFileMode(pgpass, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var before = Environment.GetEnvironmentVariable("PGPASSFILE");
        Environment.SetEnvironmentVariable("PGPASSFILE", pgpass);
        try
        {
            var db = StoreDatabase.Open(_dir.Path, new StoreOptions { ConnectionString = options.ConnectionString });
            Assert.Equal(db.KnownSchemaVersion, db.SchemaVersion());
            db.ReleasePooledConnections();
        }
        finally
        {
            Environment.SetEnvironmentVariable("PGPASSFILE", before);
        }
    }

    [Fact]
    public void AServerThatIsNotThereIsUnreachableAndSaysSoQuickly()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop(); // nothing listens there now
        var options = new StoreOptions { ConnectionString = $"postgresql://securemx@127.0.0.1:{port}/none", PasswordFile = PostgresServer.Shared.PasswordFile };
        var started = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.ThrowsAny<Exception>(() => StoreDatabase.Open(_dir.Path, options));
        Assert.True(StoreDatabase.IsUnreachable(ex), ex.ToString());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(PostgresConnection.DefaultConnectTimeoutSeconds + 5), started.Elapsed.ToString());
    }

    [Fact]
    public void AfterAConnectionFoundTheServerGoneTheNextAttemptsFailAtOnce()
    {
        var options = Fresh();
        var server = PostgresServer.Shared;
        var db = StoreDatabase.Open(_dir.Path, options);
        db.ReleasePooledConnections();
        // Reach the same database through a port where nothing listens: the store is "gone".
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var gone = StoreDatabase.OpenUnmigrated(_dir.Path, new StoreOptions { ConnectionString = options.ConnectionString.Replace($":{server.Port}/", $":{port}/"), PasswordFile = options.PasswordFile });
        var first = Assert.ThrowsAny<System.Data.Common.DbException>(() => gone.Connect());
        Assert.IsNotType<StoreUnreachableException>(first);
        var next = Assert.Throws<StoreUnreachableException>(() => gone.Connect());
        Assert.True(StoreDatabase.IsUnreachable(next));
        Assert.True(SecureMx.Store.StoreUnavailable.Is(next));
    }
}
