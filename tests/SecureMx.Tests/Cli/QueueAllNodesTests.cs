using System.CommandLine;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecureMx.Cli;
using SecureMx.Store;
using SecureMx.Tests.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `queue list --all-nodes` (every node's published summary, its age, stale after a minute) and
/// `queue retry|bounce|delete` of a message another node holds: refused naming that node.
/// </summary>
[Collection(ProcessNodeNumber.Collection)]
public sealed class QueueAllNodesTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private const string HeldByMx2 = "01JGR3ZK4W7Q2XMB";
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    public QueueAllNodesTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static NodeQueueRow Row(string node, string id, string recipient = "bob@remote.test", string? error = "451 4.7.1 try later") =>
        new(node, id, 0, recipient, "alice@example.org", Noon.AddMinutes(-30), 4096, "deferred", 2, Noon.AddMinutes(10), error);

    /// <summary>This instance (named after the machine) and mx2, which holds <see cref="HeldByMx2"/>.</summary>
    private void TwoNodes()
    {
        var registry = new NodeRegistry(CliOptions.OpenStore(_data), TimeProvider.System);
        registry.Register(System.Net.Dns.GetHostName(), "here", "");
        registry.Register("mx2", "there", "");
        registry.Publish("mx2", [Row("mx2", HeldByMx2)], 1);
    }

    private Task<int> RunAsync(params string[] args) =>
        new RootCommand { QueueCommands.Create() }.Parse([.. args, "--data", _data])
            .InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Theory]
    [InlineData("retry")]
    [InlineData("bounce")]
    [InlineData("delete")]
    public async Task AMessageAnotherNodeHoldsIsRefusedNamingTheNode(string command)
    {
        TwoNodes();
        var ex = await Assert.ThrowsAsync<CliException>(() => RunAsync("queue", command, HeldByMx2));
        Assert.Equal($"message {HeldByMx2} is held by node mx2; run the command there", ex.Message);
    }

    [Fact]
    public async Task TheRefusalExitsWithOne()
    {
        TwoNodes();
        Assert.Equal(1, await SecureMx.Program.Main(["queue", "delete", HeldByMx2, "--data", _data]));
    }

    [Fact]
    public async Task AMessageNoNodeHoldsIsSimplyNotInTheQueue()
    {
        TwoNodes();
        var ex = await Assert.ThrowsAsync<CliException>(() => RunAsync("queue", "delete", "01JGR3ZK4W7Q2XMC"));
        Assert.Equal("message 01JGR3ZK4W7Q2XMC is not in the queue", ex.Message);
    }

    [Fact]
    public async Task TheListNamesEachNodeTheAgeOfItsSummaryAndMarksAStaleOne()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Noon);
        using var store = new TestStore(time);
        var registry = new NodeRegistry(store.Database, time);
        registry.Register("mx1", "a", "");
        registry.Register("mx2", "b", "");
        registry.Publish("mx1", [Row("mx1", "AAAAAAAAAAAAAAA1", "carol@remote.test", null)], 1);
        time.Advance(TimeSpan.FromSeconds(90));
        registry.Publish("mx2", [Row("mx2", HeldByMx2)], 1);
        time.Advance(TimeSpan.FromSeconds(3));

        var text = OtherNodesQueue.Text(registry.Nodes(), registry.PublishedQueue(), time.GetUtcNow());
        var lines = text.Split('\n');
        Assert.Equal("node mx1: summary 1m old (STALE: not seen for more than 1m), 1 message(s) pending", lines[0]);
        Assert.StartsWith("    AAAAAAAAAAAAAAA1  carol@remote.test", lines[1], StringComparison.Ordinal);
        Assert.Contains(" deferred  <alice@example.org>  size 4096  attempts 2  next: 2030-01-01T12:10:00Z", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("last:", lines[1], StringComparison.Ordinal);
        Assert.Equal("node mx2: summary 3s old, 1 message(s) pending", lines[2]);
        Assert.EndsWith("  last: 451 4.7.1 try later", lines[3], StringComparison.Ordinal);
        Assert.Equal("-- 2 node(s), 2 recipient(s) pending", lines[4]);
        await Task.CompletedTask;
    }

    [Fact]
    public void TheJsonListHasANodePerEntryWithItsAgeStalenessAndRows()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Noon);
        using var store = new TestStore(time);
        var registry = new NodeRegistry(store.Database, time);
        registry.Register("mx1", "a", "");
        registry.Register("mx2", "b", "");
        registry.Publish("mx2", [Row("mx2", HeldByMx2)], 1);
        time.Advance(TimeSpan.FromSeconds(70));

        using var doc = JsonDocument.Parse(OtherNodesQueue.Json(registry.Nodes(), registry.PublishedQueue(), time.GetUtcNow()));
        var nodes = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(["mx1", "mx2"], nodes.Select(n => n.GetProperty("node").GetString()));
        Assert.Equal(70, nodes[1].GetProperty("ageSeconds").GetInt64());
        Assert.True(nodes[1].GetProperty("stale").GetBoolean());
        Assert.Empty(nodes[0].GetProperty("recipients").EnumerateArray());
        var r = Assert.Single(nodes[1].GetProperty("recipients").EnumerateArray());
        Assert.Equal(HeldByMx2, r.GetProperty("id").GetString());
        Assert.Equal("bob@remote.test", r.GetProperty("address").GetString());
        Assert.Equal("451 4.7.1 try later", r.GetProperty("lastError").GetString());
    }

    [Fact]
    public void AStoreNoNodeRegisteredInSaysSo() =>
        Assert.Equal("no node has registered in this store\n", OtherNodesQueue.Text([], [], Noon));

    [Fact]
    public void ACommandThatSpoolsUsesTheNumberServeRegisteredForThisNode()
    {
        var store = CliOptions.OpenStore(_data);
        var registry = new NodeRegistry(store, TimeProvider.System);
        registry.Register("mx0", "elsewhere", "");
        registry.Register(System.Net.Dns.GetHostName(), "here", "");
        try
        {
            CliNodeNumber.Use(store, CliOptions.LoadConfig(_data));
            Assert.Equal(1, SecureMx.Spool.MessageId.NodeNumber);
            Assert.Equal(1, SecureMx.Spool.MessageIdGenerator.NodeOf(SecureMx.Spool.MessageId.New(TimeProvider.System)));
        }
        finally
        {
            SecureMx.Spool.MessageId.NodeNumber = 0;
        }
    }
}
