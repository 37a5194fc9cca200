using SecureMx.Config;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A dashboard whose store is a shared PostgreSQL of its own (a private server the tests may stop and
/// start): the key ring and the login throttle are kept in it, as on a node of a cluster.
/// </summary>
public sealed class PostgresDashboardHost : DashboardTestHost
{
    public PostgresServer Server { get; } = new();

    protected override TestStore CreateStore()
    {
        var database = Server.CreateDatabase();
        return new TestStore(null, Time, new StoreOptions { ConnectionString = database.ConnectionString, PasswordFile = database.PasswordFile });
    }

    protected override bool StoreIsShared => true;

    protected override Task CleanUpAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}
