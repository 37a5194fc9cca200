using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using SecureMx.Dashboard;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>Two dashboards on one real PostgreSQL (two nodes, each its own data directory, the key file copied): a cookie of one is valid on the other.</summary>
public sealed class SharedKeyRingPostgresTests : IDisposable
{
    private readonly TwoNodeStores _nodes = new();


    public void Dispose() => _nodes.Dispose();

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
        using var a = Ring(_nodes.DirectoryA, _nodes.NodeA);
        var fromA = Protector(a).Protect("signed in on A");
        File.Copy(Path.Combine(_nodes.DirectoryA, DashboardKeyRingKey.FileName), Path.Combine(_nodes.DirectoryB, DashboardKeyRingKey.FileName));

        using var b = Ring(_nodes.DirectoryB, _nodes.NodeB);
        Assert.Equal("signed in on A", Protector(b).Unprotect(fromA));
        Assert.Equal("signed in on B", Protector(a).Unprotect(Protector(b).Protect("signed in on B")));
        Assert.Equal(1L, Convert.ToInt64(_nodes.NodeB.Scalar("SELECT COUNT(*) FROM dashboard_keys")));
    }
}
