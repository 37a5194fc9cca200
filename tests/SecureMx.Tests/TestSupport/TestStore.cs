using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A migrated store in its own temp directory, with the repositories the server builds on it (as
/// Hosting/ServerHost.cs wires them), on one clock.
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
    public TestStore(string? dataDirectory, TimeProvider? time)
    {
        time ??= TimeProvider.System;
        if (dataDirectory is null) _dir = new TempDirectory();
        DataDirectory = dataDirectory ?? _dir!.Path;
        Database = StoreDatabase.OpenMigrated(DataDirectory);
        Mailboxes = new MailboxRepository(Database, time);
        Policies = new TlsPolicyRepository(Database, time);
        Roles = new RoleRepository(Database, time);
        Sessions = new DashboardSessionRepository(Database, time);
        DeliveryLog = new DeliveryLogRepository(Database, NullLogger.Instance);
        Readiness = new ReadinessQueries(Database, DeliveryLog);
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
