using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A migrated store in its own temp directory, with the repositories the server builds on it (as
/// Hosting/ServerHost.cs wires them), on one clock. The backend is SQLite, or, when the environment
/// says <c>SECUREMX_TEST_STORE=postgresql</c> (scripts/test.sh runs the store tests a second time so),
/// a fresh database of the test process's private PostgreSQL (<see cref="SecureMx.TestKit.PostgresServer"/>).
/// </summary>
public sealed class TestStore : IDisposable
{
    private readonly TempDirectory? _dir;

    public StoreDatabase Database { get; }

    public MailboxRepository Mailboxes { get; }

    public TlsPolicyRepository Policies { get; }

    public RoleRepository Roles { get; }

    public DashboardSessionRepository Sessions { get; }

    public DeliveryLogRepository DeliveryLog { get; }

    public ReadinessQueries Readiness { get; }

    public string DataDirectory { get; }

    /// <summary>A new store in a temp directory of its own (deleted at <see cref="Dispose"/>).</summary>
    public TestStore(TimeProvider? time = null) : this(null, time)
    {
    }

    /// <summary>The store of an existing data directory (its owner deletes it), or of a new temp directory when null.</summary>
    /// <param name="backend">The backend; null: the one of this test process (<see cref="Backend"/>).</param>
    public TestStore(string? dataDirectory, TimeProvider? time, StoreBackend? backend = null)
    {
        time ??= TimeProvider.System;
        if (dataDirectory is null) _dir = new TempDirectory();
        DataDirectory = dataDirectory ?? _dir!.Path;
        Database = StoreDatabase.Open(DataDirectory, (backend ?? Backend) == StoreBackend.PostgreSql ? NewPostgresStore() : new SecureMx.Config.StoreOptions());
        Mailboxes = new MailboxRepository(Database, time);
        Policies = new TlsPolicyRepository(Database, time);
        Roles = new RoleRepository(Database, time);
        Sessions = new DashboardSessionRepository(Database, time);
        DeliveryLog = new DeliveryLogRepository(Database, NullLogger.Instance);
        Readiness = new ReadinessQueries(Database, DeliveryLog);
    }

    /// <summary>The backend the tests of this process use (SECUREMX_TEST_STORE).</summary>
    public static StoreBackend Backend { get; } =
        Environment.GetEnvironmentVariable("SECUREMX_TEST_STORE") is "postgresql" ? StoreBackend.PostgreSql : StoreBackend.Sqlite;

    /// <summary>The options of a fresh, empty PostgreSQL store.</summary>
    public static SecureMx.Config.StoreOptions NewPostgresStore()
    {
        var db = SecureMx.TestKit.PostgresServer.Shared.CreateDatabase();
        return new SecureMx.Config.StoreOptions { ConnectionString = db.ConnectionString, PasswordFile = db.PasswordFile };
    }

    /// <summary>example.org with alice, bob, alias sales -> alice + bob, alias info -> alice; other.test with carol.</summary>
    public TestStore WithExampleData()
    {
        Mailboxes.AddDomain("example.org");
        Mailboxes.AddMailbox("alice", "example.org", "x");
        Mailboxes.AddMailbox("bob", "example.org", "x");
        Mailboxes.AddAlias("sales@example.org", "example.org", "alice@example.org");
        Mailboxes.AddAlias("sales@example.org", "example.org", "bob@example.org");
        Mailboxes.AddAlias("info@example.org", "example.org", "alice@example.org");
        Mailboxes.AddDomain("other.test");
        Mailboxes.AddMailbox("carol", "other.test", "x");
        return this;
    }

    /// <summary>The number of rows of a table, read directly (what the repositories wrote, not what they return).</summary>
    public long Count(string table) => Convert.ToInt64(Database.Scalar($"SELECT COUNT(*) FROM {table}"));

    public void Dispose()
    {
        DeliveryLog.Dispose();
        Database.ReleasePooledConnections();
        _dir?.Dispose();
    }
}
