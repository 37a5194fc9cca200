using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.MtaSts;

/// <summary>What the listener serves for a name, read from the store at every request (both backends).</summary>
public sealed class HostedMtaStsPoliciesTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();
    private readonly SecureMxOptions _options = new() { Hostname = "mx.provider.test", SecureMxHostname = "secure.provider.test" };

    public HostedMtaStsPoliciesTests()
    {
        _store.Mailboxes.AddDomain("example.org");
    }

    public void Dispose() => _store.Dispose();

    private HostedMtaStsPolicies Policies() => new(_store.Policies, _options, _log);

    [Fact]
    public void ADomainThatIsNotHostedHasNoPolicy()
    {
        var answer = Policies().Get("elsewhere.test");
        Assert.Null(answer.Policy);
        Assert.Null(answer.StoreFailure);
    }

    [Fact]
    public void ANewDomainServesModeNone()
    {
        var answer = Policies().Get("example.org");
        Assert.Equal(MtaStsMode.None, answer.Policy!.Policy.Mode);
    }

    [Fact]
    public void AChangeInTheStoreIsServedAtTheNextRequestWithANewId()
    {
        var policies = Policies();
        var before = policies.Get("example.org").Policy!;
        Assert.Equal("none", _store.Policies.SetDomainMtaStsMode("example.org", "enforce", "test"));
        var enforce = policies.Get("example.org").Policy!;
        Assert.Equal(MtaStsMode.Enforce, enforce.Policy.Mode);
        Assert.NotEqual(before.Id, enforce.Id);
        Assert.Equal(["secure.provider.test", "mx.provider.test"], enforce.Policy.Mx);

        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        var mandatory = policies.Get("example.org").Policy!;
        Assert.Equal(["secure.provider.test"], mandatory.Policy.Mx);
        Assert.NotEqual(enforce.Id, mandatory.Id);
    }

    [Fact]
    public async Task AChangeMadeOnAnotherNodeIsServedAtOnceWhateverTheDirectoryCacheSays()
    {
        // This node's repository reads the hot path from its directory snapshot, loaded before the change.
        var cache = SecureMx.Store.DirectoryCache.For(_store.Database, TimeProvider.System, _log);
        Assert.True(await cache.ReloadAsync());
        var thisNode = new SecureMx.Store.TlsPolicyRepository(_store.Database, TimeProvider.System, cache);
        var before = new HostedMtaStsPolicies(thisNode, _options, _log).Get("example.org").Policy!;

        // The other node switches: nothing tells this node's cache (no change feed here).
        var otherNode = new SecureMx.Store.TlsPolicyRepository(_store.Database, TimeProvider.System);
        otherNode.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        otherNode.SetDomainMtaStsMode("example.org", "enforce", "test");
        Assert.Equal(InboundTlsSetting.Opportunistic, thisNode.DomainInboundTls("example.org")); // the snapshot is stale

        var served = new HostedMtaStsPolicies(thisNode, _options, _log).Get("example.org").Policy!;
        Assert.Equal((MtaStsMode.Enforce, "secure.provider.test"), (served.Policy.Mode, Assert.Single(served.Policy.Mx)));
        Assert.NotEqual(before.Id, served.Id);
    }

    [Fact]
    public void TheSwitchIsAudited()
    {
        _store.Policies.SetDomainMtaStsMode("example.org", "testing", "cli:root");
        var change = _store.Policies.PolicyAudit("example.org", 1).Single();
        Assert.Equal(("cli:root", "mta_sts_mode", "none", "testing"), (change.Actor, change.Setting, change.OldValue, change.NewValue));
        // The same value again changes nothing and records nothing.
        _store.Policies.SetDomainMtaStsMode("example.org", "testing", "cli:root");
        Assert.Single(_store.Policies.PolicyAudit("example.org"));
    }

    [Fact]
    public void SettingTheModeOfADomainThatIsNotHostedFails()
    {
        var ex = Assert.Throws<SecureMx.Store.StoreException>(() => _store.Policies.SetDomainMtaStsMode("elsewhere.test", "enforce", "test"));
        Assert.Contains("not hosted", ex.Message);
    }

    [Fact]
    public void WhileTheStoreCannotAnswerThePolicyServedLastIsServedAndOthersGetNothing()
    {
        _store.Mailboxes.AddDomain("other.org");
        _store.Policies.SetDomainMtaStsMode("example.org", "enforce", "test");
        var policies = Policies();
        var served = policies.Get("example.org").Policy!;

        // The store loses the table the policies come from: every read fails with a database error.
        _store.Database.Execute("ALTER TABLE domains RENAME TO domains_gone");
        try
        {
            var during = policies.Get("example.org");
            Assert.Same(served, during.Policy);
            Assert.NotNull(during.StoreFailure);
            var never = policies.Get("other.org");
            Assert.Null(never.Policy);
            Assert.NotNull(never.StoreFailure);
            Assert.Single(_log.Lines, l => l.Contains("store cannot be read", StringComparison.Ordinal));
        }
        finally
        {
            _store.Database.Execute("ALTER TABLE domains_gone RENAME TO domains");
        }
        Assert.Equal(served.Id, policies.Get("example.org").Policy!.Id);
        Assert.Contains(_log.Lines, l => l.Contains("the store answers again", StringComparison.Ordinal));
    }
}
