using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The store refuses new mailboxes and aliases whose local part does not work everywhere (one place:
/// the CLI and any dashboard form go through it); what exists already keeps working.
/// </summary>
public sealed class NewAddressRuleTests : IDisposable
{
    private readonly TestStore _store = new();

    public NewAddressRuleTests()
    {
        _store.Mailboxes.AddDomain("alpha.test");
        _store.Mailboxes.AddMailbox("alice", "alpha.test", "x");
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("a/b")]
    [InlineData("john doe")]
    [InlineData("a..b")]
    public void AMailboxWithAnUnusableLocalPartIsNotCreated(string local)
    {
        var ex = Assert.Throws<StoreException>(() => _store.Mailboxes.AddMailbox(local, "alpha.test", "x"));
        Assert.StartsWith("refused to create the mailbox: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(local, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, _store.Count("mailboxes"));
    }

    [Fact]
    public void AnAliasWithAnUnusableLocalPartIsNotCreated()
    {
        var ex = Assert.Throws<StoreException>(() => _store.Mailboxes.AddAlias("x&y@alpha.test", "alpha.test", "alice@alpha.test"));
        Assert.Contains("'&'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _store.Count("aliases"));
    }

    [Fact]
    public void AnExistingAliasWrittenBeforeTheRuleStillTakesMoreTargets()
    {
        _store.Mailboxes.AddMailbox("bob", "alpha.test", "x");
        _store.Database.Execute("INSERT INTO aliases(address, domain, target, created_at) VALUES('old/alias@alpha.test', 'alpha.test', 'alice@alpha.test', 0)");

        _store.Mailboxes.AddAlias("old/alias@alpha.test", "alpha.test", "bob@alpha.test");

        Assert.Equal(2, _store.Mailboxes.ResolveLocal("old/alias@alpha.test").Count);
    }

    [Fact]
    public void UsableAddressesAreStillCreated()
    {
        _store.Mailboxes.AddMailbox("first.last+tag", "alpha.test", "x");
        _store.Mailboxes.AddAlias("info@alpha.test", "alpha.test", "alice@alpha.test");
        Assert.Equal(2, _store.Count("mailboxes"));
        Assert.Equal(1, _store.Count("aliases"));
    }
}
