using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>A dashboard on a shared store, this node mx1; mx2 published a waiting recipient a while ago, mx3 two minutes ago (stale).</summary>
public sealed class SharedStoreDashboardHost : DashboardTestHost
{
    protected override void Configure(SecureMxOptions options) =>
        options.Store.ConnectionString = "postgresql://securemx@db.example.test:5432/securemx"; // what the pages read; the store itself is the test's

    protected override OtherNodes OtherNodesQueues()
    {
        var registry = new NodeRegistry(Store.Database, TimeProvider.System);
        registry.Register("mx1", "here", "");
        registry.Register("mx2", "there", "");
        registry.Register("mx3", "gone", "");
        NodeQueueRow Row(string node, string id, string sender) =>
            new(node, id, 0, "x@dest.test", sender, DateTimeOffset.UtcNow.AddMinutes(-5), 100, "deferred", 1, DateTimeOffset.UtcNow.AddMinutes(5), "4.4.1 connection <refused>");
        registry.Publish("mx2", [Row("mx2", "BBBBBBBBBBBBBBB1", Addresses[Role.User])], 1);
        registry.Publish("mx3", [Row("mx3", "CCCCCCCCCCCCCCC1", Addresses[Role.UserB])], 1);
        Store.Database.Execute("UPDATE nodes SET seen_at = @t WHERE name = 'mx3'", ("@t", DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeMilliseconds()));
        using (var mx2Log = new DeliveryLogRepository(Store.Database, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, node: "mx2"))
        {
            mx2Log.Append([new DeliveryLogEntry(DateTimeOffset.UtcNow, "BBBBBBBBBBBBBBB0", Addresses[Role.User], Addresses[Role.User], "y@dest.test",
                "mx.dest.test", "192.0.2.1", "delivered", 250, "2.0.0", "2.0.0 Ok", null, null, "none")]);
            mx2Log.Flush();
        }
        return new OtherNodes(registry, "mx1");
    }
}

/// <summary>The deferred-mail page with a shared store: the other nodes' waiting mail with the node column, a stale node marked, the scope kept.</summary>
public sealed class QueuePageOtherNodesTests(SharedStoreDashboardHost host) : IClassFixture<SharedStoreDashboardHost>
{
    [Fact]
    public async Task TheSystemAdminSeesEveryOtherNodesWaitingMailWithTheNodeAndAStaleMark()
    {
        var client = await host.As(Role.Root);
        var html = await client.GetPageAsync("/queue");
        Assert.Contains("id=\"other-nodes-deferred\"", html);
        Assert.Contains("data-node=\"mx2\" data-id=\"BBBBBBBBBBBBBBB1\" data-recipient=\"x@dest.test\" data-stale=\"false\"", html);
        Assert.Contains("data-node=\"mx3\" data-id=\"CCCCCCCCCCCCCCC1\" data-recipient=\"x@dest.test\" data-stale=\"true\"", html);
        Assert.Contains("4.4.1 connection &lt;refused&gt;", html); // another node's text is encoded like any other
        Assert.DoesNotContain("data-node=\"mx1\"", html);
    }

    [Fact]
    public async Task AUserSeesOnlyTheirOwnMailOnTheOtherNodes()
    {
        var client = await host.As(Role.User);
        var html = await client.GetPageAsync("/queue");
        Assert.Contains("data-id=\"BBBBBBBBBBBBBBB1\"", html);
        Assert.DoesNotContain("CCCCCCCCCCCCCCC1", html);
    }

    [Fact]
    public async Task TheDeliveryLogPageNamesTheNodeOfEachAttempt()
    {
        var client = await host.As(Role.User);
        var html = await client.GetPageAsync("/log");
        Assert.Contains("<th>Node</th>", html);
        Assert.Contains("<td class=\"mono node\">mx2</td>", html);
    }
}
