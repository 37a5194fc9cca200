using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Dashboard.Pages;
using SecureMx.Mail;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>The deferred mail page model: waiting recipients in the user's scope, with the right expiry.</summary>
public sealed class QueuePageTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(T0);
    private readonly MessageSpool _spool;
    private OtherNodes _otherNodes = OtherNodes.None;

    public QueuePageTests()
    {
        _spool = new MessageSpool(_dir.Combine("spool"), _time, NullLogger.Instance);
        _store.Roles.AddSystemAdmin("carol@other.test", "test");
        _store.Roles.AddDomainAdmin("example.org", "bob@example.org", "test");
    }

    public void Dispose()
    {
        _spool.Dispose();
        _dir.Dispose();
        _store.Dispose();
    }

    private async Task<string> EnqueueAsync(string sender, string? account, params string[] recipients)
    {
        var id = MessageId.New(_time);
        var envelope = new Envelope(id, _time.GetUtcNow(), sender, 100,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            new ClientTrace("submission", "127.0.0.1", "client", "ESMTPSA", null, account),
            recipients.Select(r => new EnvelopeRecipient(r, r, RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)).ToList());
        await _spool.Queue.InsertAsync(envelope, null, _time);
        _time.Advance(TimeSpan.FromSeconds(1));
        return id;
    }

    private (IActionResult Result, QueueModel Model) Get(string address, string? account = null, string? domain = null)
    {
        var model = new QueueModel(DashboardPageUser.For(_store, address), _spool, new QueueTimeRules(new SecureMxOptions().Queue), _time, _otherNodes) { Account = account, Domain = domain };
        return (model.OnGet(), model);
    }

    [Fact]
    public async Task WaitingRecipientsAreListedAndFinalOnesAreNot()
    {
        var id = await EnqueueAsync("alice@example.org", "alice@example.org", "a@dest.test", "b@dest.test", "c@dest.test");
        await _spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.Delivered(), _time.GetUtcNow(), _time);
        await _spool.Queue.UpdateRecipientAsync(id, 1, TestOutcomes.Deferred("4.4.1 connection refused"), T0.AddMinutes(5), _time);

        var (result, model) = Get("alice@example.org");

        Assert.IsType<PageResult>(result);
        Assert.Equal(["b@dest.test", "c@dest.test"], model.Rows.Select(r => r.Recipient.Recipient.Address));
        Assert.Equal("4.4.1 connection refused", model.Rows[0].Recipient.LastError);
    }

    [Fact]
    public async Task TlsWaitExpiresAfterADayOtherWaitsAfterFiveDays()
    {
        var id = await EnqueueAsync("alice@example.org", "alice@example.org", "a@dest.test", "b@dest.test");
        var received = _spool.Queue.Load(id)!.Value.Envelope.ReceivedAt;
        await _spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.TlsWait(), T0.AddMinutes(5), _time);
        await _spool.Queue.UpdateRecipientAsync(id, 1, TestOutcomes.Deferred("4.4.1 mx.dest.test[192.0.2.1]: connection refused"), T0.AddMinutes(5), _time);

        var rows = Get("alice@example.org").Model.Rows;

        Assert.True(rows[0].TlsWait);
        Assert.Equal(received.AddHours(24), rows[0].ExpiresAt);
        Assert.False(rows[1].TlsWait);
        Assert.Equal(received.AddDays(5), rows[1].ExpiresAt);
    }

    [Fact]
    public async Task ATlsWaitIsKnownByItsStoredReasonNotByItsText()
    {
        var id = await EnqueueAsync("alice@example.org", "alice@example.org", "a@dest.test", "b@dest.test");
        var received = _spool.Queue.Load(id)!.Value.Envelope.ReceivedAt;
        // A TLS wait whose text says nothing of TLS, and a server's own 4.7.4 reply whose text reads like one of ours.
        await _spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.TlsWait("waiting for a server that does what the sender's setting asks"), T0.AddMinutes(5), _time);
        await _spool.Queue.UpdateRecipientAsync(id, 1, TestOutcomes.Deferred(
            "4.7.4 TLS is required, but was not offered by host mx.dest.test[192.0.2.1] (TLS level encrypt (from sender account alice@example.org))") with
        {
            Reason = OutcomeReason.RemoteReply,
            Status = EnhancedStatus.SecurityNotSupported,
        }, T0.AddMinutes(5), _time);

        var rows = Get("alice@example.org").Model.Rows;

        Assert.Equal([true, false], rows.Select(r => r.TlsWait));
        Assert.Equal([received.AddHours(24), received.AddDays(5)], rows.Select(r => r.ExpiresAt));
    }

    [Fact]
    public async Task EachRoleSeesOnlyItsScope()
    {
        await EnqueueAsync("alice@example.org", "alice@example.org", "a@dest.test");
        await EnqueueAsync("bob@example.org", null, "b@dest.test");
        await EnqueueAsync("carol@other.test", "carol@other.test", "c@dest.test");
        await EnqueueAsync("list@lists.test", "alice@example.org", "d@dest.test");

        List<string> Seen(string address, string? account = null, string? domain = null) =>
            Get(address, account, domain).Model.Rows.Select(r => r.Recipient.Recipient.Address).ToList();

        Assert.Equal(["a@dest.test", "d@dest.test"], Seen("alice@example.org"));
        Assert.Equal(["a@dest.test", "b@dest.test"], Seen("bob@example.org"));
        Assert.Equal(["b@dest.test"], Seen("bob@example.org", account: "bob@example.org"));
        Assert.Equal(["a@dest.test", "b@dest.test", "c@dest.test", "d@dest.test"], Seen("carol@other.test"));
        Assert.Equal(["c@dest.test"], Seen("carol@other.test", domain: "other.test"));
    }

    [Fact]
    public void FiltersOutsideTheScopeAreForbidden()
    {
        Assert.IsType<ForbidResult>(Get("alice@example.org", account: "bob@example.org").Result);
        Assert.IsType<ForbidResult>(Get("alice@example.org", domain: "example.org").Result);
        Assert.IsType<ForbidResult>(Get("bob@example.org", domain: "other.test").Result);
        Assert.IsType<PageResult>(Get("bob@example.org", domain: "example.org").Result);
    }

    [Fact]
    public void BelowTheFreeSpaceFloorSystemAdminsSeeTheLowDiskWarningAndOthersDoNot()
    {
        using var dir = new TempDirectory();
        long free = 100L * 1024 * 1024;
        var guard = new FreeSpaceGuard(dir.Path, 512, _time, NullLogger.Instance, _ => (free, 100L * 1024 * 1024 * 1024));
        using var spool = new MessageSpool(dir.Combine("spool"), _time, NullLogger.Instance, freeSpace: guard);
        QueueModel Page(string address)
        {
            var model = new QueueModel(DashboardPageUser.For(_store, address), spool, new QueueTimeRules(new SecureMxOptions().Queue), _time, OtherNodes.None);
            model.OnGet();
            return model;
        }

        var admin = Page("carol@other.test");
        Assert.NotNull(admin.LowDisk);
        Assert.Equal(free, admin.LowDisk.FreeBytes);
        Assert.Equal(512L * 1024 * 1024, admin.LowDisk.FloorBytes);
        Assert.Null(Page("bob@example.org").LowDisk); // a domain admin cannot act on the server's disk

        free = 600L * 1024 * 1024;
        _time.Advance(FreeSpaceGuard.CacheFor);
        Assert.Null(Page("carol@other.test").LowDisk);
    }

    /// <summary>A shared store where this node is mx1 and mx2 published a recipient for alice's and one for carol's mail.</summary>
    private NodeRegistry SharedWithMx2()
    {
        var registry = new NodeRegistry(_store.Database, _time);
        registry.Register("mx1", "here", "");
        registry.Register("mx2", "there", "");
        NodeQueueRow Row(string node, string id, string sender) =>
            new(node, id, 0, "x@dest.test", sender, T0.AddMinutes(-5), 100, "deferred", 1, T0.AddMinutes(5), "4.4.1 connection refused");
        registry.Publish("mx2", [Row("mx2", "BBBBBBBBBBBBBBB1", "alice@example.org"), Row("mx2", "BBBBBBBBBBBBBBB2", "carol@other.test")], 2);
        registry.Publish("mx1", [Row("mx1", "AAAAAAAAAAAAAAA1", "alice@example.org")], 1); // its own: read from the spool, not twice
        _otherNodes = new OtherNodes(registry, "mx1");
        return registry;
    }

    [Fact]
    public void ASingleBoxHasNoOtherNodesTable()
    {
        var model = Get("carol@other.test").Model;
        Assert.False(model.SharedStore);
        Assert.Empty(model.OtherNodeRows);
    }

    [Fact]
    public void WithASharedStoreTheOtherNodesWaitingMailIsListedWithItsNodeInTheUsersScope()
    {
        SharedWithMx2();

        var admin = Get("carol@other.test").Model;
        Assert.True(admin.SharedStore);
        Assert.Equal(["BBBBBBBBBBBBBBB1", "BBBBBBBBBBBBBBB2"], admin.OtherNodeRows.Select(r => r.QueueId));
        Assert.All(admin.OtherNodeRows, r => Assert.Equal("mx2", r.Node));
        Assert.Equal(["mx2"], admin.Nodes.Keys);

        var alice = Get("alice@example.org").Model;
        Assert.Equal(["BBBBBBBBBBBBBBB1"], alice.OtherNodeRows.Select(r => r.QueueId));
    }

    [Fact]
    public void AnUnreachableStoreIsSaidOnThePageNotAnError()
    {
        _otherNodes = new OtherNodes(new NodeRegistry(new StoreDatabase(_dir.Combine("gone")), _time), "mx1");

        var (result, model) = Get("carol@other.test");

        Assert.IsType<PageResult>(result);
        Assert.NotNull(model.OtherNodesError);
        Assert.Empty(model.OtherNodeRows);
    }
}
