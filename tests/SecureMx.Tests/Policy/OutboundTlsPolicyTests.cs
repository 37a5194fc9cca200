using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Policy;

/// <summary>
/// The effective outbound level: the global default, replaced by a destination entry in either
/// direction, then the strictest of that and the sender domain's and account's settings.
/// </summary>
public sealed class OutboundTlsPolicyTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly OutboundTlsPolicy _policy;

    public OutboundTlsPolicyTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddDomain("other.org");
        _store.Mailboxes.AddMailbox("alice", "example.org", "x");
        _store.Mailboxes.AddMailbox("bob", "example.org", "x");
        _store.Mailboxes.AddAlias("sales@other.org", "other.org", "alice@example.org");
        _policy = new OutboundTlsPolicy(_store.Policies, new DeliveryOptions());
    }

    public void Dispose() => _store.Dispose();

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
        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Mandatory, "test");
        var alice = _policy.For(null, "alice+news@example.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, alice.Level);
        Assert.Equal("sender account alice@example.org", alice.Decisive.Origin);
        Assert.True(alice.SenderMandatory);
        Assert.Equal(OutboundTlsLevel.Dane, _policy.For(null, "bob@example.org", "remote.test").Level);
    }

    [Fact]
    public void TheLoggedInAccountCountsEvenWhenItSendsAsAnAliasOnAnotherDomain()
    {
        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Mandatory, "test");
        var p = _policy.For("alice@example.org", "sales@other.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, p.Level);
        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Default, "test");
        _store.Policies.SetDomainOutboundTls("example.org", OutboundTlsSetting.Mandatory, "test");
        Assert.Equal("sender domain example.org", _policy.For("alice@example.org", "sales@other.org", "remote.test").Decisive.Origin);
    }

    [Fact]
    public void TheDestinationTableCanBeStricterThanTheSender()
    {
        _store.Policies.SetDomainOutboundTls("example.org", OutboundTlsSetting.Mandatory, "test");
        _store.Policies.SetDestinationTls("bank.test", OutboundTlsLevel.Verify, "test");
        _store.Policies.SetDestinationTls("legacy.test", OutboundTlsLevel.May, "test");
        Assert.Equal(OutboundTlsLevel.Verify, _policy.For(null, "alice@example.org", "bank.test").Level);
        // A lenient destination entry never weakens a sender's mandatory TLS.
        Assert.Equal(OutboundTlsLevel.Encrypt, _policy.For(null, "alice@example.org", "legacy.test").Level);
        // It does replace the global default for everyone else (the destination table overrides both ways).
        Assert.Equal(OutboundTlsLevel.May, _policy.For(null, "", "legacy.test").Level);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.None)]
    [InlineData(OutboundTlsLevel.May)]
    public void ALenientDestinationEntryReplacesTheStricterGlobalDefaultAndSwitchesDaneOff(OutboundTlsLevel entry)
    {
        _store.Policies.SetDestinationTls("broken-tlsa.test", entry, "test");
        var p = _policy.For(null, "bob@example.org", "broken-tlsa.test");
        Assert.Equal(entry, p.Level);
        Assert.Equal("destination broken-tlsa.test", p.Decisive.Origin);
        Assert.Equal(new TlsPolicySource(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Dane), p.ReplacedDefault);
        Assert.DoesNotContain(p.Sources, s => s.Origin == TlsPolicySource.GlobalDefault);
        Assert.False(p.UsesDane);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.Dane)]
    [InlineData(OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.DaneOnly)]
    [InlineData(OutboundTlsLevel.Verify)]
    public void ADestinationEntryOfDaneOrStricterKeepsDane(OutboundTlsLevel entry)
    {
        _store.Policies.SetDestinationTls("dest.test", entry, "test");
        var p = _policy.For(null, "bob@example.org", "dest.test");
        Assert.Equal(entry, p.Level);
        Assert.True(p.UsesDane);
    }

    [Fact]
    public void WithoutADestinationEntryDaneIsUsedWhateverTheGlobalDefault()
    {
        var lenient = new OutboundTlsPolicy(_store.Policies, new DeliveryOptions { DefaultTlsLevel = "may" });
        var p = lenient.For(null, "bob@example.org", "remote.test");
        Assert.Equal(OutboundTlsLevel.May, p.Level);
        Assert.Null(p.ReplacedDefault);
        Assert.True(p.UsesDane);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.None)]
    [InlineData(OutboundTlsLevel.May)]
    public void AMandatorySenderDomainOrAccountStillWinsOverALenientDestination(OutboundTlsLevel entry)
    {
        _store.Policies.SetDestinationTls("legacy.test", entry, "test");
        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Mandatory, "test");
        var account = _policy.For("alice@example.org", "alice@example.org", "legacy.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, account.Level);
        Assert.Equal("sender account alice@example.org", account.Decisive.Origin);

        _store.Policies.SetDomainOutboundTls("example.org", OutboundTlsSetting.Mandatory, "test");
        var domain = _policy.For(null, "bob@example.org", "legacy.test");
        Assert.Equal(OutboundTlsLevel.Encrypt, domain.Level);
        Assert.Equal("sender domain example.org", domain.Decisive.Origin);
    }

    [Fact]
    public void InEffectForAnAccountNamesTheDomainSwitchFirst()
    {
        Assert.Equal(MandatoryTlsSource.None, _policy.ForAccount("bob@example.org")!.MandatoryBy);

        _store.Policies.SetMailboxOutboundTls("bob@example.org", OutboundTlsSetting.Mandatory, "test");
        Assert.Equal(MandatoryTlsSource.Account, _policy.ForAccount("bob@example.org")!.MandatoryBy);

        _store.Policies.SetDomainOutboundTls("example.org", OutboundTlsSetting.Mandatory, "test");
        _store.Policies.SetMailboxOutboundTls("bob@example.org", OutboundTlsSetting.Default, "test");
        var bob = _policy.ForAccount("bob@example.org")!;
        Assert.Equal((OutboundTlsSetting.Default, "example.org", OutboundTlsSetting.Mandatory), (bob.Own, bob.Domain, bob.DomainSetting));
        Assert.Equal(MandatoryTlsSource.Domain, bob.MandatoryBy);
        Assert.Equal(OutboundTlsLevel.Encrypt, bob.Effective.Level);
        Assert.Equal("sender domain example.org", bob.Effective.Decisive.Origin);
    }

    [Fact]
    public void InEffectForAMailboxThatDoesNotExistIsNothing()
    {
        Assert.Null(_policy.ForAccount("nobody@example.org"));
    }

    [Fact]
    public void EveryChangeIsAudited()
    {
        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Mandatory, "cli:root");
        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "dashboard:bob@example.org");
        var changes = _store.Policies.PolicyAudit("example.org");
        Assert.Equal(2, changes.Count);
        Assert.Equal(("dashboard:bob@example.org", "inbound_tls", "opportunistic", "mandatory"), (changes[0].Actor, changes[0].Setting, changes[0].OldValue, changes[0].NewValue));
        Assert.Equal(("alice@example.org", "default", "mandatory"), (changes[1].Subject, changes[1].OldValue, changes[1].NewValue));
    }

    [Fact]
    public void TheRequirementOfAWaitNamesTheSettingThatDemandsTlsOrElseTheDaneRecords()
    {
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Dane, TlsRequirementSource.DaneRecords), _policy.For(null, "alice@example.org", "remote.test").Requirement);

        _store.Policies.SetDestinationTls("strict.test", OutboundTlsLevel.Verify, "test");
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Verify, TlsRequirementSource.Operator), _policy.For(null, "alice@example.org", "strict.test").Requirement);

        _store.Policies.SetMailboxOutboundTls("alice@example.org", OutboundTlsSetting.Mandatory, "test");
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Sender), _policy.For(null, "alice@example.org", "remote.test").Requirement);
        // The strictest setting decides: the destination's verify outranks the account's encrypt.
        Assert.Equal(new RequiredTls(OutboundTlsLevel.Verify, TlsRequirementSource.Operator), _policy.For(null, "alice@example.org", "strict.test").Requirement);
    }
}
