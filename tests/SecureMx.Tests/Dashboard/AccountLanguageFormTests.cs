using System.Net;
using System.Text.RegularExpressions;
using SecureMx.Mail;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The account page's language section: it shows the language of the mail SecureMx sends the account
/// (English until chosen) and saves a choice — for the account itself, an administrator of its domain and
/// system administrators; anyone else gets 403 and nothing changes; a value that is no language, 400.
/// </summary>
public sealed partial class AccountLanguageFormTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [GeneratedRegex("""<section class="card" id="mail-language" data-language="(?<language>\w+)">""")]
    private static partial Regex Section();

    [GeneratedRegex("""<input type="radio" name="language" value="(?<value>\w+)" checked="checked">""")]
    private static partial Regex Checked();

    private MailLanguage? Stored(string address) => host.Store.Mailboxes.MailboxLanguage(address);

    private static string PathOf(string address) => $"/account/{address}/language";

    private async Task<HttpResponseMessage> PostAsync(Role role, string address, string language) =>
        await (await host.As(role)).PostFormWithTokenFromAsync("/", PathOf(address), ("language", language));

    [Fact]
    public async Task TheAccountPageShowsEnglishUntilTheAccountChooses()
    {
        const string account = "other@a.test";
        var html = await (await host.As(Role.Other)).GetPageAsync("/account/" + account);

        Assert.Equal("en", Section().Match(html).Groups["language"].Value);
        Assert.Equal("en", Assert.Single(Checked().Matches(html)).Groups["value"].Value);
        Assert.Contains($"<form method=\"post\" action=\"/account/{account}/language\">", html, StringComparison.Ordinal);
        Assert.Contains("Language of delivery notifications", html, StringComparison.Ordinal);
        Assert.Equal(MailLanguage.English, Stored(account));
    }

    [Fact]
    public async Task TheUserChoosesGermanForTheOwnAccountAndSeesItSaved()
    {
        const string account = "user@a.test";
        var client = await host.As(Role.User);
        try
        {
            using var response = await PostAsync(Role.User, account, "de");

            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/account/user@a.test?saved=1", response.Headers.Location!.OriginalString);
            Assert.Equal(MailLanguage.German, Stored(account));
            var html = await client.GetPageAsync(response.Headers.Location.OriginalString);
            Assert.Equal("de", Section().Match(html).Groups["language"].Value);
            Assert.Equal("de", Assert.Single(Checked().Matches(html)).Groups["value"].Value);
            Assert.Contains("id=\"saved\"", html, StringComparison.Ordinal);

            using var back = await PostAsync(Role.User, account, "en");
            Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
            Assert.Equal(MailLanguage.English, Stored(account));
        }
        finally
        {
            host.Store.Mailboxes.SetMailboxLanguage(account, MailLanguage.English);
        }
    }

    [Theory]
    [InlineData(Role.AdminA, "other@a.test")]
    [InlineData(Role.Root, "user@b.test")]
    public async Task AnAdministratorOfTheAccountMayChooseForIt(Role role, string account)
    {
        try
        {
            using var response = await PostAsync(role, account, "de");
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal(MailLanguage.German, Stored(account));
        }
        finally
        {
            host.Store.Mailboxes.SetMailboxLanguage(account, MailLanguage.English);
        }
    }

    [Theory]
    [InlineData(Role.Other, "user@a.test")]
    [InlineData(Role.UserB, "user@a.test")]
    [InlineData(Role.AdminB, "user@a.test")]
    [InlineData(Role.User, "nobody@a.test")]   // not even whether it exists
    public async Task AnyoneElseIsForbiddenAndNothingChanges(Role role, string account)
    {
        var before = host.Store.Mailboxes.ListMailboxes().Select(m => (m.Address, Stored(m.Address))).ToList();
        using var response = await PostAsync(role, account, "de");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, host.Store.Mailboxes.ListMailboxes().Select(m => (m.Address, Stored(m.Address))).ToList());
    }

    [Fact]
    public async Task ASystemAdministratorGets404ForAMailboxThatDoesNotExist()
    {
        using var response = await PostAsync(Role.Root, "nobody@a.test", "de");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("")]
    [InlineData("de-DE")]
    public async Task AValueThatIsNoLanguageIsABadRequest(string language)
    {
        using var response = await PostAsync(Role.User, "user@a.test", language);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(MailLanguage.English, Stored("user@a.test"));
    }

    [Fact]
    public async Task WithoutTheAntiforgeryTokenNothingChanges()
    {
        var client = await host.As(Role.User);
        using var response = await client.PostRawAsync(PathOf("user@a.test"), [new("language", "de")]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(MailLanguage.English, Stored("user@a.test"));
    }

    [Fact]
    public async Task AnonymousIsSentToTheLoginAndNothingChanges()
    {
        var client = await host.As(Role.Anonymous);
        using var response = await client.PostFormWithTokenFromAsync("/login", PathOf("user@a.test"), ("language", "de"));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(response));
        Assert.Equal(MailLanguage.English, Stored("user@a.test"));
    }

    [Fact]
    public async Task TheSectionIsGermanInTheGermanDashboard()
    {
        using var client = await host.SignInAsync("user@b.test", acceptLanguage: "de");
        var html = await client.GetPageAsync("/account/user@b.test");
        Assert.Contains("Sprache der Zustellbenachrichtigungen", html, StringComparison.Ordinal);
        Assert.Contains("Sprache speichern", html, StringComparison.Ordinal);
    }
}
