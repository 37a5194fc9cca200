
namespace SecureMx.Tests.Queue;

/// <summary>
/// Where a DSN to a hosted sender goes: as any mail to that address would (RecipientRouter) — a
/// subaddress to its mailbox, an alias to its targets, an address that no longer exists to the
/// domain's postmaster. Every message here fails at once (NXDOMAIN), so each brings one failure DSN.
/// </summary>
public sealed class DsnRoutingTests
{
    [Fact]
    public async Task ADsnToASubaddressOfAHostedSenderLandsInItsMailbox()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);
        await h.SendAsync(sender: "alice+lists@example.test");
        Assert.Equal("failed", Assert.Single(h.Dsns()).Action);
    }

    [Fact]
    public async Task ADsnToAnAliasLandsInItsTargetsMailbox()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);
        h.Store.Mailboxes.AddAlias("team@example.test", "example.test", QueueRunnerHarness.Sender);
        await h.SendAsync(sender: "team@example.test");
        Assert.Equal("failed", Assert.Single(h.Dsns()).Action);
    }

    [Fact]
    public async Task ADsnToAHostedAddressThatNoLongerExistsGoesToTheConfiguredPostmaster()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain, o => o.Delivery.Postmaster = QueueRunnerHarness.Sender);
        await h.SendAsync(sender: "gone@example.test");
        Assert.Equal("failed", Assert.Single(h.Dsns()).Action);
    }
}
