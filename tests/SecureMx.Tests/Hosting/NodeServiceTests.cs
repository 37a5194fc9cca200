using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>The tests that set the process's <see cref="MessageId.NodeNumber"/> run one at a time.</summary>
public static class ProcessNodeNumber
{
    public const string Collection = "MessageId.NodeNumber";
}

/// <summary>
/// The node at serve start (registered, its number in the queue ids) and its queue summary: the
/// pending recipients published to the store, delivered ones not; an unreachable store skips the
/// tick with one log line and the next tick publishes again.
/// </summary>
[Collection(ProcessNodeNumber.Collection)]
public sealed class NodeServiceTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly TestStore _store;
    private readonly MessageSpool _spool;

    private static readonly SecureMxOptions Shared = new()
    {
        Node = { Name = "mx2" },
        Store = { ConnectionString = "postgresql://securemx@db.example.test:5432/securemx" },
    };

    public NodeServiceTests()
    {
        _store = new TestStore(_time);
        _spool = new MessageSpool(_dir.Combine("spool"), TimeProvider.System, NullLogger.Instance);
    }

    public void Dispose()
    {
        _spool.Dispose();
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private NodeService Service(StoreDatabase db, SecureMxOptions options, ListLogger? log = null) =>
        new(db, _spool, options, _dir.Path, _time, log ?? new ListLogger());

    /// <summary>A message to bob (deferred, 2 attempts) and carol (delivered).</summary>
    private async Task<string> QueueAsync()
    {
        var acceptor = new MessageAcceptor(_spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
        List<EnvelopeRecipient> recipients =
        [
            new("bob@remote.test", "bob@remote.test", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null),
            new("carol@remote.test", "carol@remote.test", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null),
        ];
        var id = await SendmailCommand.QueueAsync(acceptor, new MemoryStream("Subject: x\r\n\r\nbody\r\n"u8.ToArray()), "alice@example.org", recipients, maxSize: 1024 * 1024);
        await _spool.Queue.UpdateRecipientsAsync(id,
            [new RecipientUpdate(0, TestOutcomes.Deferred(), Noon.AddMinutes(10), Attempts: 2), new RecipientUpdate(1, TestOutcomes.Delivered(), Noon)], TimeProvider.System);
        return id;
    }

    [Fact]
    public async Task AtStartTheNodeRegistersAndItsNumberGoesIntoTheQueueIds()
    {
        new NodeRegistry(_store.Database, _time).Register("mx1", "elsewhere:/srv/mx", "");
        var service = Service(_store.Database, Shared);
        try
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
            Assert.Equal(1, service.Number);
            Assert.Equal(1, MessageId.NodeNumber);
            Assert.Equal(1, MessageIdGenerator.NodeOf(MessageId.New(TimeProvider.System)));
            await service.StopAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            MessageId.NodeNumber = 0;
        }
    }

    [Fact]
    public async Task StartIsRefusedWhileAnotherLiveInstanceHoldsTheName()
    {
        new NodeRegistry(_store.Database, _time).Register("mx2", "other-machine:/srv/mx", "");
        var ex = await Assert.ThrowsAsync<StoreException>(() => Service(_store.Database, Shared).StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("node name mx2 is in use", ex.Message);
    }

    [Fact]
    public async Task ASingleBoxTakesItsNameEvenFromAnotherInstanceSeenJustNow()
    {
        new NodeRegistry(_store.Database, _time).Register("box", "other-directory", "");
        var service = Service(_store.Database, new SecureMxOptions { Node = { Name = "box" } });
        try
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, service.Number);
            await service.StopAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            MessageId.NodeNumber = 0;
        }
    }

    [Fact]
    public async Task ThePendingRecipientsArePublishedWithTheMessageCountAndSeenAt()
    {
        var id = await QueueAsync();
        new NodeRegistry(_store.Database, _time).Register("mx2", "x", "");
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(Service(_store.Database, Shared).PublishOnce());

        var registry = new NodeRegistry(_store.Database, _time);
        var row = Assert.Single(registry.PublishedQueue());
        Assert.Equal(("mx2", id, 0, "bob@remote.test", "alice@example.org", "deferred", 2, Noon.AddMinutes(10)),
            (row.Node, row.QueueId, row.RecipientIndex, row.Recipient, row.Sender, row.State, row.Attempts, row.NextAttemptAt));
        Assert.Equal(TestOutcomes.Deferred().Text, row.LastError);
        Assert.True(row.Size > 0);
        var node = Assert.Single(registry.Nodes());
        Assert.Equal((1L, Noon.AddSeconds(5)), (node.QueuedMessages, node.SeenAt));

        await _spool.RemoveAsync(id);
        Assert.True(Service(_store.Database, Shared).PublishOnce());
        Assert.Empty(registry.PublishedQueue());
        Assert.Equal(0, registry.Nodes().Single().QueuedMessages);
    }

    [Fact]
    public async Task AnUnreachableStoreSkipsTheTickLogsOnceAndTheNextTickPublishes()
    {
        await QueueAsync();
        var where = _dir.Combine("store-not-there-yet");
        var store = new StoreDatabase(where); // every connection fails, as with PostgreSQL down
        var log = new ListLogger();
        var service = Service(store, Shared, log);

        Assert.False(service.PublishOnce());
        Assert.False(service.PublishOnce());
        Assert.False(service.PublishOnce());
        Assert.Single(log.Lines, l => l.StartsWith("Warning: node mx2: publishing the queue summary failed, retrying every 5s", StringComparison.Ordinal));

        Directory.CreateDirectory(where); // the store is back
        store.Migrate();
        Assert.True(service.PublishOnce());
        Assert.Contains("Information: node mx2: queue summary published again", log.Lines);
        Assert.Single(new NodeRegistry(store, _time).PublishedQueue());
        store.ReleasePooledConnections();
    }

    [Fact]
    public async Task ASingleBoxRegistersButPublishesNothing()
    {
        await QueueAsync();
        var service = Service(_store.Database, new SecureMxOptions { Node = { Name = "box" } });
        try
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
            await Task.Delay(200, TestContext.Current.CancellationToken);
            await service.StopAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            MessageId.NodeNumber = 0;
        }
        Assert.False(service.Publishes);
        Assert.Equal(0, service.Number);
        Assert.Equal(0, _store.Count("node_queue"));
    }
}
