using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>Dashboard roles in the store: who may administer what, audited, never outliving a mailbox or domain.</summary>
public sealed class RoleRepositoryTests : IDisposable
{
    private readonly TestStore _store = new();

    public RoleRepositoryTests()
    {
        _store.Mailboxes.AddDomain("a.test");
        _store.Mailboxes.AddDomain("b.test");
        _store.Mailboxes.AddMailbox("alice", "a.test", "x");
        _store.Mailboxes.AddMailbox("bob", "b.test", "x");
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void AMailboxOfOneDomainCanAdministerAnother()
    {
        _store.Roles.AddDomainAdmin("b.test", "alice@a.test", "cli:root");
        Assert.Equal(["b.test"], _store.Roles.AdministeredDomains("alice@a.test"));
        Assert.Equal(["alice@a.test"], _store.Roles.ListDomainAdmins("b.test"));
        Assert.Empty(_store.Roles.ListDomainAdmins("a.test"));
    }

    [Fact]
    public void RolesAreGivenOnlyToExistingMailboxesAndHostedDomains()
    {
        Assert.Contains("does not exist", Assert.Throws<StoreException>(() => _store.Roles.AddSystemAdmin("nobody@a.test", "t")).Message);
        Assert.Contains("does not exist", Assert.Throws<StoreException>(() => _store.Roles.AddDomainAdmin("a.test", "nobody@a.test", "t")).Message);
        Assert.Contains("not hosted", Assert.Throws<StoreException>(() => _store.Roles.AddDomainAdmin("c.test", "alice@a.test", "t")).Message);
        Assert.Empty(_store.Roles.ListSystemAdmins());
    }

    [Fact]
    public void AddingTwiceOrRemovingWhatIsNotThereIsReported()
    {
        _store.Roles.AddSystemAdmin("alice@a.test", "t");
        Assert.Contains("already", Assert.Throws<StoreException>(() => _store.Roles.AddSystemAdmin("alice@a.test", "t")).Message);
        Assert.Contains("is not a system administrator", Assert.Throws<StoreException>(() => _store.Roles.RemoveSystemAdmin("bob@b.test", "t")).Message);
        Assert.Contains("is not an administrator", Assert.Throws<StoreException>(() => _store.Roles.RemoveDomainAdmin("a.test", "bob@b.test", "t")).Message);
    }

    [Fact]
    public void EveryRoleChangeIsAuditedWithItsActor()
    {
        _store.Roles.AddDomainAdmin("a.test", "bob@b.test", "cli:root");
        _store.Roles.RemoveDomainAdmin("a.test", "bob@b.test", "dashboard:alice@a.test");
        var audit = _store.Policies.PolicyAudit("a.test");
        Assert.Equal(2, audit.Count);
        Assert.Equal(("dashboard:alice@a.test", "domain_admin", "bob@b.test", ""), (audit[0].Actor, audit[0].Setting, audit[0].OldValue, audit[0].NewValue));
        Assert.Equal(("cli:root", "domain_admin", "", "bob@b.test"), (audit[1].Actor, audit[1].Setting, audit[1].OldValue, audit[1].NewValue));
    }

    [Fact]
    public void ARemovedMailboxLosesItsRolesAndANewOneOfTheSameNameDoesNotInheritThem()
    {
        _store.Roles.AddSystemAdmin("bob@b.test", "t");
        _store.Roles.AddDomainAdmin("a.test", "bob@b.test", "t");
        _store.Mailboxes.RemoveMailbox("bob@b.test");
        _store.Mailboxes.AddMailbox("bob", "b.test", "y");
        Assert.False(_store.Roles.IsSystemAdmin("bob@b.test"));
        Assert.Empty(_store.Roles.AdministeredDomains("bob@b.test"));
    }

    [Fact]
    public void ARemovedDomainTakesItsAdministratorsWithIt()
    {
        _store.Mailboxes.AddDomain("c.test");
        _store.Roles.AddDomainAdmin("c.test", "alice@a.test", "t");
        _store.Mailboxes.RemoveDomain("c.test");
        _store.Mailboxes.AddDomain("c.test");
        Assert.Empty(_store.Roles.ListDomainAdmins("c.test"));
        Assert.Empty(_store.Roles.AdministeredDomains("alice@a.test"));
    }

    [Fact]
    public void TheAuditOfADomainHasItsMailboxesAndNothingOfADomainWhoseNameOnlyMatchesAsAPattern()
    {
        _store.Mailboxes.AddDomain("axb.test");
        _store.Mailboxes.AddMailbox("carol", "axb.test", "x");
        _store.Policies.SetMailboxOutboundTls("carol@axb.test", OutboundTlsSetting.Mandatory, "t");
        _store.Policies.SetMailboxOutboundTls("alice@a.test", OutboundTlsSetting.Mandatory, "t");
        Assert.Equal(["alice@a.test"], _store.Policies.PolicyAudit("a.test").Select(c => c.Subject));
        Assert.Empty(_store.Policies.PolicyAudit("a_b.test"));
        Assert.Empty(_store.Policies.PolicyAudit("%.test"));
    }
}
