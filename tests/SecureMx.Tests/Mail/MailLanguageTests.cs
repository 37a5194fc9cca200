using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>The words of <see cref="MailLanguage"/>: what the store, the CLI and the Content-Language field write.</summary>
public sealed class MailLanguageTests
{
    [Theory]
    [InlineData(MailLanguage.English, "en")]
    [InlineData(MailLanguage.German, "de")]
    public void EachLanguageIsItsIsoCodeAndReadsBack(MailLanguage language, string name)
    {
        Assert.Equal(name, language.Name());
        Assert.True(MailLanguages.TryParse(name, out var parsed));
        Assert.Equal(language, parsed);
        Assert.True(MailLanguages.TryParse(" " + name.ToUpperInvariant() + " ", out parsed));
        Assert.Equal(language, parsed);
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("english")]
    [InlineData("de-DE")]
    [InlineData("")]
    [InlineData(null)]
    public void AnythingElseIsNoLanguage(string? text) => Assert.False(MailLanguages.TryParse(text, out _));

    [Fact]
    public void EnglishIsTheDefaultAndAllListsEveryLanguageOnce()
    {
        Assert.Equal(MailLanguage.English, default);
        Assert.Equal(["en", "de"], MailLanguages.All.Select(l => l.Name()));
    }
}
