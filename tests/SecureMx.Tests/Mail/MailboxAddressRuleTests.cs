using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>Which local parts a new mailbox or alias may have: what works unquoted, in a URL, in HTML and as a login.</summary>
public sealed class MailboxAddressRuleTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("first.last")]
    [InlineData("bob+list")]
    [InlineData("info-de_2")]
    [InlineData("x")]
    [InlineData("a!b%c")]              // routing characters stay ordinary local-part characters
    [InlineData("jürgen")]             // SMTPUTF8
    [InlineData("用户")]
    public void UsableLocalPartsAreAccepted(string local) => Assert.Null(MailboxAddressRule.Check(local));

    [Theory]
    [InlineData("<script>alert(1)</script>")]  // the example, after the CLI's parser took the quotes off
    [InlineData("a/b")]                         // the account page's URL
    [InlineData("../etc")]
    [InlineData("a\\b")]
    [InlineData("a<b")]
    [InlineData("a>b")]
    [InlineData("a\"b")]
    [InlineData("o'brien")]
    [InlineData("a&b")]
    [InlineData("john doe")]                    // needs quotes
    [InlineData("tab\tbed")]
    [InlineData("nul\0byte")]
    [InlineData("line\nbreak")]
    [InlineData("del\u007f")]
    [InlineData("c1\u0085")]                    // a C1 control (NEL)
    [InlineData("nbsp\u00a0x")]
    [InlineData("rtl\u202eexe")]                // a bidirectional override: looks like another address
    [InlineData("zero\u200bwidth")]
    [InlineData(".leading")]
    [InlineData("trailing.")]
    [InlineData("double..dot")]
    [InlineData("a(comment)")]                  // not atext: needs quotes
    [InlineData("a@b")]
    [InlineData("a,b")]
    [InlineData("")]
    public void LocalPartsThatDoNotWorkEverywhereAreRefusedWithAReason(string local)
    {
        var problem = MailboxAddressRule.Check(local);
        Assert.False(string.IsNullOrWhiteSpace(problem), $"'{local}' was accepted");
    }

    [Fact]
    public void AnUnpairedSurrogateIsRefused() => Assert.NotNull(MailboxAddressRule.Check("a\ud800b"));

    [Fact]
    public void TheReasonNamesTheOffendingCharacter()
    {
        Assert.Contains("'/'", MailboxAddressRule.Check("a/b"));
        Assert.Contains("U+202E", MailboxAddressRule.Check("rtl\u202eexe"));
        Assert.Contains("dot", MailboxAddressRule.Check("a..b"));
    }
}
