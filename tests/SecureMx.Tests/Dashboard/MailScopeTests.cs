using SecureMx.Dashboard;

namespace SecureMx.Tests.Dashboard;

/// <summary>Which mail a dashboard user may see in the delivery log and the queue, and which filters they may use.</summary>
public sealed class MailScopeTests
{
    private static readonly MailScope User = MailScope.For("alice@example.org", systemAdmin: false, []);
    private static readonly MailScope DomainAdmin = MailScope.For("alice@example.org", systemAdmin: false, ["example.org", "shop.test"]);
    private static readonly MailScope SystemAdmin = MailScope.For("root@example.org", systemAdmin: true, ["example.org"]);

    [Fact]
    public void UserSeesMailOfTheirAccountOrWithThemAsSender()
    {
        Assert.True(User.Contains("alice@example.org", "list@lists.test"));
        Assert.True(User.Contains(null, "Alice@example.org"));
        Assert.False(User.Contains("bob@example.org", "bob@example.org"));
        Assert.False(User.Contains(null, "bob@example.org"));
        Assert.False(User.Contains(null, ""));
        Assert.Equal(["alice@example.org"], User.Accounts);
        Assert.Empty(User.SenderDomains!);
    }

    [Fact]
    public void DomainAdminSeesSendersOfTheirDomainsAndTheirOwnAccount()
    {
        Assert.True(DomainAdmin.Contains(null, "bob@example.org"));
        Assert.True(DomainAdmin.Contains("someone@else.test", "orders@SHOP.test"));
        Assert.True(DomainAdmin.Contains("alice@example.org", "list@lists.test"));
        Assert.False(DomainAdmin.Contains("carol@other.test", "carol@other.test"));
        Assert.False(DomainAdmin.Contains(null, "bob@sub.example.org"));
        Assert.False(DomainAdmin.Contains(null, "\"x@example.org\"@evil.test"));
    }

    [Fact]
    public void SystemAdminSeesEverything()
    {
        Assert.True(SystemAdmin.IsEverything);
        Assert.Null(SystemAdmin.Accounts);
        Assert.Null(SystemAdmin.SenderDomains);
        Assert.True(SystemAdmin.Contains("carol@other.test", ""));
        Assert.True(SystemAdmin.AllowsAccount("anyone@anywhere.test"));
        Assert.True(SystemAdmin.AllowsDomain("anywhere.test"));
    }

    [Fact]
    public void UserMayFilterForTheirOwnAccountOnly()
    {
        Assert.True(User.AllowsAccount("alice@example.org"));
        Assert.False(User.AllowsAccount("bob@example.org"));
        Assert.False(User.AllowsDomain("example.org"));
    }

    [Fact]
    public void DomainAdminMayFilterForTheirDomainsAndTheirAccounts()
    {
        Assert.True(DomainAdmin.AllowsDomain("shop.test"));
        Assert.True(DomainAdmin.AllowsAccount("bob@example.org"));
        Assert.False(DomainAdmin.AllowsDomain("other.test"));
        Assert.False(DomainAdmin.AllowsAccount("carol@other.test"));
        Assert.False(DomainAdmin.AllowsDomain("sub.example.org"));
    }

    [Fact]
    public void FiltersMatchAccountOrSenderAndTheSenderDomain()
    {
        Assert.True(MailScope.Matches("bob@example.org", "list@lists.test", "bob@example.org", null));
        Assert.True(MailScope.Matches(null, "bob@example.org", "bob@example.org", "example.org"));
        Assert.False(MailScope.Matches("alice@example.org", "alice@example.org", "bob@example.org", null));
        Assert.False(MailScope.Matches("bob@example.org", "list@lists.test", null, "example.org"));
        Assert.True(MailScope.Matches("x@y.test", "", null, null));
    }

    [Fact]
    public void FilterTextIsTrimmedLowerCasedAndBlankMeansNone()
    {
        Assert.Null(MailScope.AccountFilter("  "));
        Assert.Equal("bob@example.org", MailScope.AccountFilter(" Bob@Example.ORG "));
        Assert.Null(MailScope.DomainFilter(""));
        Assert.Equal("example.org", MailScope.DomainFilter(" Example.ORG "));
        Assert.Equal("xn--bcher-kva.example", MailScope.DomainFilter("bücher.example"));
    }
}
