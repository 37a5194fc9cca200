using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Policy;

/// <summary>The strictest of default, destination, sender domain and sender account (DESIGN.md §3).</summary>
public sealed class OutboundTlsPolicyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SecureMxStore _store;
    private readonly OutboundTlsPolicy _policy;

    public OutboundTlsPolicyTests()
    {
        _store = new SecureMxStore(_dir.Path, TimeProvider.System);
        _store.Migrate();
        _store.AddDomain("example.org");
        _store.AddDomain("other.org");
        _store.AddMailbox("alice", "example.org", "x");
        _store.AddMailbox("bob", "example.org", "x");
        _store.AddAlias("sales@other.org", "other.org", "alice@example.org");
        _policy = new OutboundTlsPolicy(_store, new DeliveryOptions());
    }

    public void Dispose()
    {
        using (var c = _store.Open()) Microsoft.Data.Sqlite.SqliteConnection.ClearPool(c);
        _dir.Dispose();
    }

    [Fact]
    public void WithoutSettingsTheGlobalDefaultDaneApplies()
    {
        var p = _policy.For(null, "alice@example.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.Dane, p.Level);
        Assert.Single(p.Sources);
    }

    [Fact]
    public void AMandatoryAccountRaisesOnlyItsOwnMailToEncrypt()
    {
        _store.SetMailboxOutboundTls("alice@example.org", true, "test");
        var alice = _policy.For(null, "alice+news@example.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, alice.Level);
        Assert.Equal("sender account alice@example.org", alice.Decisive.Origin);
        Assert.True(alice.SenderMandatory);
        Assert.Equal(OutboundTlsLevel.Dane, _policy.For(null, "bob@example.org", "remote.test").Level);
    }

    [Fact]
    public void TheLoggedInAccountCountsEvenWhenItSendsAsAnAliasOnAnotherDomain()
    {
        _store.SetMailboxOutboundTls("alice@example.org", true, "test");
        var p = _policy.For("alice@example.org", "sales@other.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, p.Level);
        _store.SetMailboxOutboundTls("alice@example.org", false, "test");
        _store.SetDomainOutboundTls("example.org", true, "test");
        Assert.Equal("sender domain example.org", _policy.For("alice@example.org", "sales@other.org", "remote.test").Decisive.Origin);
    }

    [Fact]
    public void TheDestinationTableCanBeStricterThanTheSender()
    {
        _store.SetDomainOutboundTls("example.org", true, "test");
        _store.SetDestinationTls("bank.test", "verify", "test");
        _store.SetDestinationTls("legacy.test", "may", "test");
        Assert.Equal(OutboundTlsLevel.Verify, _policy.For(null, "alice@example.org", "bank.test").Level);
        // A lenient destination entry never weakens a sender's mandatory TLS.
        Assert.Equal(OutboundTlsLevel.Encrypt, _policy.For(null, "alice@example.org", "legacy.test").Level);
        Assert.Equal(OutboundTlsLevel.Dane, _policy.For(null, "", "legacy.test").Level);
    }

    [Fact]
    public void EveryChangeIsAudited()
    {
        _store.SetMailboxOutboundTls("alice@example.org", true, "cli:root");
        _store.SetInboundTls("example.org", true, "dashboard:bob@example.org");
        var changes = _store.PolicyAudit("example.org");
        Assert.Equal(2, changes.Count);
        Assert.Equal(("dashboard:bob@example.org", "inbound_tls", "opportunistic", "mandatory"), (changes[0].Actor, changes[0].Setting, changes[0].OldValue, changes[0].NewValue));
        Assert.Equal(("alice@example.org", "default", "mandatory"), (changes[1].Subject, changes[1].OldValue, changes[1].NewValue));
    }

    [Fact]
    public void TheRequirementOfAWaitNamesTheSettingThatDemandsTlsOrElseTheDaneRecords()
    {
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Dane, TlsRequirementSource.DaneRecords), _policy.For(null, "alice@example.org", "remote.test").Requirement);

        _store.SetDestinationTls("strict.test", "verify", "test");
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Verify, TlsRequirementSource.Operator), _policy.For(null, "alice@example.org", "strict.test").Requirement);

        _store.SetMailboxOutboundTls("alice@example.org", true, "test");
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Sender), _policy.For(null, "alice@example.org", "remote.test").Requirement);
        // The strictest setting decides: the destination's verify outranks the account's encrypt.
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Verify, TlsRequirementSource.Operator), _policy.For(null, "alice@example.org", "strict.test").Requirement);
    }
}
