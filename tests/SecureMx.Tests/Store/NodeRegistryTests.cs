using Microsoft.Extensions.Time.Testing;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>The nodes table: numbers (lowest free, kept across restarts, never shared), the live-name rule, and the published queue summaries.</summary>
public sealed class NodeRegistryTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly TestStore _store;
    private readonly NodeRegistry _registry;

    public NodeRegistryTests()
    {
        _store = new TestStore(_time);
        _registry = new NodeRegistry(_store.Database, _time);
    }

    public void Dispose() => _store.Dispose();

    private static NodeQueueRow Row(string node, string id, int index = 0, string recipient = "bob@remote.test") =>
        new(node, id, index, recipient, "alice@example.org", Noon.AddMinutes(-30), 4096, "deferred", 2, Noon.AddMinutes(10), "451 4.7.1 try later");

    [Fact]
    public void TwoNodesGetDifferentNumbersTheLowestFree()
    {
        Assert.Equal(0, _registry.Register("mx1", "host-a:/srv/mx", "1.0"));
        Assert.Equal(1, _registry.Register("mx2", "host-b:/srv/mx", "1.0"));
        Assert.Equal(2, _registry.Register("secure", "host-c:/srv/mx", "1.0"));
        Assert.Equal(["mx1", "mx2", "secure"], _registry.Nodes().Select(n => n.Name));
    }

    [Fact]
    public void ARestartedNodeKeepsItsNumberAtOnceEvenRightAfterACrash()
    {
        _registry.Register("mx1", "host-a:/srv/mx", "1.0");
        Assert.Equal(1, _registry.Register("mx2", "host-b:/srv/mx", "1.0"));
        _time.Advance(TimeSpan.FromSeconds(3)); // killed and restarted: its row was seen 3 s ago
        Assert.Equal(1, _registry.Register("mx2", "host-b:/srv/mx", "1.1"));
        var mx2 = _registry.Nodes().Single(n => n.Name == "mx2");
        Assert.Equal(Noon.AddSeconds(3), mx2.StartedAt);
        Assert.Equal("1.1", mx2.Version);
    }

    [Fact]
    public void AnotherInstanceUnderALiveNodesNameIsRefusedNamingTheName()
    {
        _registry.Register("mx1", "host-a:/srv/mx", "1.0");
        _time.Advance(TimeSpan.FromSeconds(59));
        var ex = Assert.Throws<StoreException>(() => _registry.Register("mx1", "host-b:/srv/mx", "1.0"));
        Assert.Contains("node name mx1 is in use by another live node", ex.Message);
        Assert.Contains("host-a:/srv/mx", ex.Message);
    }

    [Fact]
    public void InAStoreOfItsOwnTheNameIsAlwaysTaken()
    {
        // SQLite: a backup restored into another directory and started at once is the only instance writing this copy.
        Assert.Equal(0, _registry.Register("mx1", "host-a:/srv/mx", "1.0", exclusive: false));
        Assert.Equal(0, _registry.Register("mx1", "host-a:/srv/restored", "1.0", exclusive: false));
    }

    [Fact]
    public void AStaleNodesNameAndNumberGoToTheInstanceThatTakesItOver()
    {
        _registry.Register("mx0", "host-z:/srv/mx", "1.0");
        Assert.Equal(1, _registry.Register("mx1", "host-a:/srv/mx", "1.0"));
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(1, _registry.Register("mx1", "host-b:/srv/mx", "1.0")); // the machine was replaced
    }

    [Fact]
    public void AFreedNumberIsTheNextOneGiven()
    {
        _registry.Register("a", "i1", "");
        _registry.Register("b", "i2", "");
        _registry.Register("c", "i3", "");
        _store.Database.Execute("DELETE FROM nodes WHERE name = 'b'");
        Assert.Equal(1, _registry.Register("d", "i4", ""));
        Assert.Equal(3, _registry.Register("e", "i5", ""));
    }

    [Fact]
    public async Task NodesStartingTogetherGetDistinctNumbers()
    {
        // Separate registries (as separate processes), all reading the same free number at once: the UNIQUE constraint sorts them out.
        using var start = new Barrier(8);
        var numbers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            var own = new NodeRegistry(_store.Database, _time);
            start.SignalAndWait(TestContext.Current.CancellationToken);
            return own.Register($"mx{i}", $"host-{i}:/srv/mx", "1.0");
        })));
        Assert.Equal(Enumerable.Range(0, 8), numbers.Order());
    }

    [Fact]
    public void ThereAreOnlyAThousandAndTwentyFourNumbers()
    {
        for (int i = 0; i < NodeRegistry.MaxNodes; i++)
            _store.Database.Execute("INSERT INTO nodes(name, number, started_at, seen_at) VALUES(@n, @i, 0, 0)", ("@n", $"n{i}"), ("@i", i));
        var ex = Assert.Throws<StoreException>(() => _registry.Register("one-more", "i", ""));
        Assert.Contains("all 1024 node numbers are in use", ex.Message);
    }

    [Fact]
    public void APublicationReplacesTheNodesRowsAndLeavesTheOthers()
    {
        _registry.Register("mx1", "i1", "");
        _registry.Register("mx2", "i2", "");
        _registry.Publish("mx1", [Row("mx1", "AAAAAAAAAAAAAAA1"), Row("mx1", "AAAAAAAAAAAAAAA2")], 2);
        _registry.Publish("mx2", [Row("mx2", "BBBBBBBBBBBBBBB1", 0), Row("mx2", "BBBBBBBBBBBBBBB1", 1, "carol@remote.test")], 1);
        _time.Advance(TimeSpan.FromSeconds(5));
        _registry.Publish("mx1", [Row("mx1", "AAAAAAAAAAAAAAA3")], 1);

        var rows = _registry.PublishedQueue();
        Assert.Equal(["AAAAAAAAAAAAAAA3", "BBBBBBBBBBBBBBB1", "BBBBBBBBBBBBBBB1"], rows.Select(r => r.QueueId));
        Assert.Equal(Row("mx2", "BBBBBBBBBBBBBBB1", 1, "carol@remote.test"), rows[2]);
        var mx1 = _registry.Nodes().Single(n => n.Name == "mx1");
        Assert.Equal(Noon.AddSeconds(5), mx1.SeenAt);
        Assert.Equal(1, mx1.QueuedMessages);
    }

    [Fact]
    public void ASummaryKeepsAtMostTenThousandRowsButTheFullMessageCount()
    {
        _registry.Register("mx1", "i1", "");
        var many = Enumerable.Range(0, NodeRegistry.MaxPublishedRows + 50).Select(i => Row("mx1", $"C{i:D15}")).ToList();
        _registry.Publish("mx1", many, many.Count);
        Assert.Equal(NodeRegistry.MaxPublishedRows, _store.Count("node_queue"));
        Assert.Equal(NodeRegistry.MaxPublishedRows + 50, _registry.Nodes().Single().QueuedMessages);
    }

    [Fact]
    public void TheHolderOfAnIdIsAnotherNodeThatPublishedIt()
    {
        _registry.Register("mx1", "i1", "");
        _registry.Register("mx2", "i2", "");
        _registry.Publish("mx2", [Row("mx2", "BBBBBBBBBBBBBBB1")], 1);
        _registry.Publish("mx1", [Row("mx1", "AAAAAAAAAAAAAAA1")], 1);
        Assert.Equal("mx2", _registry.HolderOf("BBBBBBBBBBBBBBB1", "mx1"));
        Assert.Null(_registry.HolderOf("AAAAAAAAAAAAAAA1", "mx1"));
        Assert.Null(_registry.HolderOf("ZZZZZZZZZZZZZZZ1", "mx1"));
    }

    [Fact]
    public void ANodeUnseenForMoreThanAMinuteIsStale()
    {
        _registry.Register("mx1", "i1", "");
        var node = _registry.Nodes().Single();
        Assert.False(node.IsStale(Noon.AddSeconds(60)));
        Assert.True(node.IsStale(Noon.AddSeconds(61)));
    }
}
