using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using SecureMx.Dashboard;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>Two dashboards on one real PostgreSQL (two nodes, each its own data directory, the key file copied): a cookie of one is valid on the other.</summary>
public sealed class SharedKeyRingPostgresTests : IDisposable
{
    private readonly TempDirectory _dirA = new();
    private readonly TempDirectory _dirB = new();
    private readonly StoreDatabase _nodeA;
    private readonly StoreDatabase _nodeB;

    public SharedKeyRingPostgresTests()
    {
        var options = TestStore.NewPostgresStore();
        _nodeA = StoreDatabase.Open(_dirA.Path, options);
        _nodeB = StoreDatabase.Open(_dirB.Path, options);
    }

    public void Dispose()
    {
        _nodeA.ReleasePooledConnections();
        _nodeB.ReleasePooledConnections();
        _dirB.Dispose();
        _dirA.Dispose();
    }

    private static ServiceProvider Ring(string dataDirectory, StoreDatabase store)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        DashboardKeyRing.Add(services, dataDirectory, store);
        return services.BuildServiceProvider();
    }

    private static IDataProtector Protector(ServiceProvider sp) => sp.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookie");

    [Fact]
    public void A_payload_protected_by_node_A_is_read_by_node_B_and_back()
    {
        using var a = Ring(_dirA.Path, _nodeA);
        var fromA = Protector(a).Protect("signed in on A");
        File.Copy(Path.Combine(_dirA.Path, DashboardKeyRingKey.FileName), Path.Combine(_dirB.Path, DashboardKeyRingKey.FileName));

        using var b = Ring(_dirB.Path, _nodeB);
        Assert.Equal("signed in on A", Protector(b).Unprotect(fromA));
        Assert.Equal("signed in on B", Protector(a).Unprotect(Protector(b).Protect("signed in on B")));
        Assert.Equal(1L, Convert.ToInt64(_nodeB.Scalar("SELECT COUNT(*) FROM dashboard_keys")));
    }
}
