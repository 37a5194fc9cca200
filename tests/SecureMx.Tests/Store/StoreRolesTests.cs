using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>Dashboard roles in the store: who may administer what, audited, never outliving a mailbox or domain.</summary>
public sealed class StoreRolesTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SecureMxStore _store;

    public StoreRolesTests()
    {
        _store = new SecureMxStore(_dir.Path, TimeProvider.System);
        _store.Migrate();
        _store.AddDomain("a.test");
        _store.AddDomain("b.test");
        _store.AddMailbox("alice", "a.test", "x");
        _store.AddMailbox("bob", "b.test", "x");
    }

    public void Dispose()
    {
        using (var c = _store.Open()) Microsoft.Data.Sqlite.SqliteConnection.ClearPool(c);
        _dir.Dispose();
    }

    [Fact]
    public void AMailboxOfOneDomainCanAdministerAnother()
    {
        _store.AddDomainAdmin("b.test", "alice@a.test", "cli:root");
        Assert.Equal(["b.test"], _store.AdministeredDomains("alice@a.test"));
        Assert.Equal(["alice@a.test"], _store.ListDomainAdmins("b.test"));
        Assert.Empty(_store.ListDomainAdmins("a.test"));
    }

    [Fact]
    public void RolesAreGivenOnlyToExistingMailboxesAndHostedDomains()
    {
        Assert.Contains("does not exist", Assert.Throws<StoreException>(() => _store.AddSystemAdmin("nobody@a.test", "t")).Message);
        Assert.Contains("does not exist", Assert.Throws<StoreException>(() => _store.AddDomainAdmin("a.test", "nobody@a.test", "t")).Message);
        Assert.Contains("not hosted", Assert.Throws<StoreException>(() => _store.AddDomainAdmin("c.test", "alice@a.test", "t")).Message);
        Assert.Empty(_store.ListSystemAdmins());
    }

    [Fact]
    public void AddingTwiceOrRemovingWhatIsNotThereIsReported()
    {
        _store.AddSystemAdmin("alice@a.test", "t");
        Assert.Contains("already", Assert.Throws<StoreException>(() => _store.AddSystemAdmin("alice@a.test", "t")).Message);
        Assert.Contains("is not a system administrator", Assert.Throws<StoreException>(() => _store.RemoveSystemAdmin("bob@b.test", "t")).Message);
        Assert.Contains("is not an administrator", Assert.Throws<StoreException>(() => _store.RemoveDomainAdmin("a.test", "bob@b.test", "t")).Message);
    }

    [Fact]
    public void EveryRoleChangeIsAuditedWithItsActor()
    {
        _store.AddDomainAdmin("a.test", "bob@b.test", "cli:root");
        _store.RemoveDomainAdmin("a.test", "bob@b.test", "dashboard:alice@a.test");
        var audit = _store.PolicyAudit("a.test");
        Assert.Equal(2, audit.Count);
        Assert.Equal(("dashboard:alice@a.test", "domain_admin", "bob@b.test", ""), (audit[0].Actor, audit[0].Setting, audit[0].OldValue, audit[0].NewValue));
        Assert.Equal(("cli:root", "domain_admin", "", "bob@b.test"), (audit[1].Actor, audit[1].Setting, audit[1].OldValue, audit[1].NewValue));
    }

    [Fact]
    public void ARemovedMailboxLosesItsRolesAndANewOneOfTheSameNameDoesNotInheritThem()
    {
        _store.AddSystemAdmin("bob@b.test", "t");
        _store.AddDomainAdmin("a.test", "bob@b.test", "t");
        _store.RemoveMailbox("bob@b.test");
        _store.AddMailbox("bob", "b.test", "y");
        Assert.False(_store.IsSystemAdmin("bob@b.test"));
        Assert.Empty(_store.AdministeredDomains("bob@b.test"));
    }

    [Fact]
    public void ARemovedDomainTakesItsAdministratorsWithIt()
    {
        _store.AddDomain("c.test");
        _store.AddDomainAdmin("c.test", "alice@a.test", "t");
        _store.RemoveDomain("c.test");
        _store.AddDomain("c.test");
        Assert.Empty(_store.ListDomainAdmins("c.test"));
        Assert.Empty(_store.AdministeredDomains("alice@a.test"));
    }

    [Fact]
    public void TheAuditOfADomainHasItsMailboxesAndNothingOfADomainWhoseNameOnlyMatchesAsAPattern()
    {
        _store.AddDomain("axb.test");
        _store.AddMailbox("carol", "axb.test", "x");
        _store.SetMailboxOutboundTls("carol@axb.test", true, "t");
        _store.SetMailboxOutboundTls("alice@a.test", true, "t");
        Assert.Equal(["alice@a.test"], _store.PolicyAudit("a.test").Select(c => c.Subject));
        Assert.Empty(_store.PolicyAudit("a_b.test"));
        Assert.Empty(_store.PolicyAudit("%.test"));
    }
}
