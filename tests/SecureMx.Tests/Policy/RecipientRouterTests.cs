using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Policy;

/// <summary>
/// Where mail for an address goes — the one answer used by SMTP RCPT, `securemx sendmail` and DSNs.
/// example.org hosts alice and bob, sales → alice + bob and info → alice; other.test hosts carol.
/// </summary>
public sealed class RecipientRouterTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly DeliveryOptions _options = new();

    public void Dispose() => _store.Dispose();

    private RecipientRouting Route(string address)
    {
        Assert.Equal(SmtpAddressParser.Error.None, SmtpAddressParser.TryParseMailbox(address, allowUtf8: true, out var parsed));
        return new RecipientRouter(_store.Mailboxes, _options).Route(parsed);
    }

    private static List<string> Targets(RecipientRouting r) => r.Targets.Select(t => t.Address).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void AnExactMailboxIsItself()
    {
        var r = Route("alice@example.org");
        Assert.Equal(RecipientKind.Mailbox, r.Kind);
        Assert.Equal(new LocalTarget("alice@example.org", MailboxRepository.MaildirFor("alice", "example.org")), Assert.Single(r.Targets));
        Assert.True(r.IsLocal);
    }

    [Fact]
    public void AnAliasIsItsTargets()
    {
        var r = Route("sales@example.org");
        Assert.Equal(RecipientKind.Alias, r.Kind);
        Assert.Equal(["alice@example.org", "bob@example.org"], Targets(r));
    }

    [Fact]
    public void ASubaddressOfAMailboxIsTheMailbox()
    {
        var r = Route("alice+news@example.org");
        Assert.Equal(RecipientKind.Mailbox, r.Kind);
        Assert.Equal(["alice@example.org"], Targets(r));
    }

    [Fact]
    public void ASubaddressOfAnAliasIsTheAlias()
    {
        var r = Route("sales+2026@example.org");
        Assert.Equal(RecipientKind.Alias, r.Kind);
        Assert.Equal(["alice@example.org", "bob@example.org"], Targets(r));
    }

    [Fact]
    public void AnExactMatchWinsOverTheSubaddressBase()
    {
        _store.Mailboxes.AddMailbox("bob+list", "example.org", "x");
        Assert.Equal(["bob+list@example.org"], Targets(Route("bob+list@example.org")));
    }

    [Fact]
    public void WithoutADelimiterASubaddressIsAnUnknownUser()
    {
        _options.RecipientDelimiter = "";
        Assert.Equal(RecipientKind.UnknownUser, Route("alice+news@example.org").Kind);
    }

    [Fact]
    public void PostmasterOfAHostedDomainWithoutSuchAMailboxIsTheInstancePostmaster()
    {
        var r = Route("postmaster@other.test");
        Assert.Equal(RecipientKind.Postmaster, r.Kind);
        Assert.Equal(new LocalTarget("postmaster@other.test", RecipientRouter.InstancePostmasterMaildir), Assert.Single(r.Targets));
    }

    [Fact]
    public void PostmasterGoesToTheConfiguredPostmasterWhenThereIsOne()
    {
        _options.Postmaster = "Info@example.org";
        var r = Route("POSTMASTER@other.test");
        Assert.Equal(RecipientKind.Postmaster, r.Kind);
        Assert.Equal(["alice@example.org"], Targets(r));
    }

    [Fact]
    public void APostmasterMailboxOfTheDomainIsAnOrdinaryMailbox()
    {
        _store.Mailboxes.AddMailbox("postmaster", "other.test", "x");
        _options.Postmaster = "bob@example.org";
        var r = Route("postmaster@other.test");
        Assert.Equal(RecipientKind.Mailbox, r.Kind);
        Assert.Equal(["postmaster@other.test"], Targets(r));
    }

    [Fact]
    public void TheBarePostmasterIsTheInstancePostmaster()
    {
        var r = new RecipientRouter(_store.Mailboxes, _options).BarePostmaster();
        Assert.Equal(RecipientKind.Postmaster, r.Kind);
        Assert.Equal(RecipientRouter.InstancePostmasterMaildir, Assert.Single(r.Targets).Maildir);
    }

    [Fact]
    public void AnUnknownUserOfAHostedDomainIsUnknown()
    {
        var r = Route("nobody@example.org");
        Assert.Equal(RecipientKind.UnknownUser, r.Kind);
        Assert.Empty(r.Targets);
        Assert.False(r.IsLocal);
    }

    [Fact]
    public void ADomainNotHostedHereIsNotHosted()
    {
        var r = Route("alice@example.net");
        Assert.Equal(RecipientKind.NotHosted, r.Kind);
        Assert.False(r.IsLocal);
    }

    [Theory]
    [InlineData("ALICE@EXAMPLE.ORG")]
    [InlineData("Alice+News@Example.Org")]
    public void LocalPartAndDomainMatchWithoutCase(string address)
    {
        Assert.Equal(["alice@example.org"], Targets(Route(address)));
    }

    [Fact]
    public void AnAddressLiteralIsNeverHosted()
    {
        Assert.Equal(RecipientKind.NotHosted, Route("alice@[127.0.0.1]").Kind);
    }

    [Fact]
    public void TheHostedDomainsInboundSwitchComesWithTheRoute()
    {
        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        Assert.True(Route("alice@example.org").InboundTlsMandatory);
        Assert.True(Route("nobody@example.org").InboundTlsMandatory);
        Assert.True(Route("postmaster@example.org").InboundTlsMandatory);
        Assert.False(Route("carol@other.test").InboundTlsMandatory);
    }

    // ---- the language of the mail SecureMx writes to an address (its DSNs) ----

    private MailLanguage LanguageOf(string address) => new RecipientRouter(_store.Mailboxes, _options).LanguageOf(Route(address));

    [Theory]
    [InlineData("alice@example.org", "de")]
    [InlineData("Alice+news@example.org", "de")]   // a subaddress reads as its mailbox
    [InlineData("info@example.org", "de")]         // an alias whose one mailbox chose German
    [InlineData("sales@example.org", "en")]        // alice chose German, bob did not: they disagree
    [InlineData("bob@example.org", "en")]          // never chose
    [InlineData("alice@example.net", "en")]        // not hosted here
    [InlineData("postmaster@example.org", "en")]   // the instance's postmaster Maildir is no mailbox
    public void TheLanguageIsThatOfTheMailboxesTheAddressReachesWhenTheyAgree(string address, string language)
    {
        _store.Mailboxes.SetMailboxLanguage("alice@example.org", MailLanguage.German);
        Assert.Equal(language, LanguageOf(address).Name());
    }

    [Fact]
    public void AnAliasWhoseMailboxesAllChoseGermanIsGerman()
    {
        _store.Mailboxes.SetMailboxLanguage("alice@example.org", MailLanguage.German);
        _store.Mailboxes.SetMailboxLanguage("bob@example.org", MailLanguage.German);
        Assert.Equal(MailLanguage.German, LanguageOf("sales@example.org"));
    }
}
