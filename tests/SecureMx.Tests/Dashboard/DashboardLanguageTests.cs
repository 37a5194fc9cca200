using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>English and German: Accept-Language decides unless the visible switch set the culture cookie.</summary>
public sealed class DashboardLanguageTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> TextOf(HttpResponseMessage response) => WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));

    [Theory]
    [InlineData("de-DE", "de", "Anmelden")]
    [InlineData("de", "de", "Anmelden")]
    [InlineData("de-DE,de;q=0.9,en;q=0.8", "de", "Anmelden")]
    [InlineData("de-AT", "de", "Anmelden")]
    [InlineData("en", "en", "Sign in")]
    [InlineData("en-GB", "en", "Sign in")]
    [InlineData("fr-FR", "en", "Sign in")]
    public async Task AcceptLanguageChoosesTheLanguage(string acceptLanguage, string lang, string heading)
    {
        using var response = await host.NewClient(acceptLanguage).GetAsync("/login");
        var html = await TextOf(response);
        Assert.Contains($"<html lang=\"{lang}\">", html);
        Assert.Contains($"<h1>{heading}</h1>", html);
    }

    [Fact]
    public async Task SignedInPagesAndErrorPagesFollowTheLanguage()
    {
        var client = await host.SignInAsync("user@a.test", "de");
        Assert.Contains("Übersicht", WebUtility.HtmlDecode(await client.GetPageAsync("/")));
        using var forbidden = await client.GetAsync("/admin");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("Sie dürfen dies weder sehen noch ändern.", await TextOf(forbidden));
    }

    [Fact]
    public async Task LanguageSwitchSetsACookieThatWinsOverAcceptLanguage()
    {
        var client = host.NewClient("en");
        using var switched = await client.PostFormAsync("/language", [new("culture", "de"), new("returnUrl", "/login")], "/login");
        Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
        Assert.Equal("/login", switched.Headers.Location!.OriginalString);
        var cookie = switched.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(".AspNetCore.Culture=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("secure", cookie);
        Assert.Contains("httponly", cookie);
        Assert.Contains("samesite=strict", cookie);
        Assert.Contains("<h1>Anmelden</h1>", await TextOf(await client.GetAsync("/login")));

        using var back = await client.PostFormAsync("/language", [new("culture", "en")], "/login");
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Contains("<h1>Sign in</h1>", await TextOf(await client.GetAsync("/login")));
    }

    [Fact]
    public async Task LanguageSwitchWorksForSignedInUsers()
    {
        var client = await host.SignInAsync("other@a.test", "en");
        using var switched = await client.PostFormAsync("/language", [new("culture", "de"), new("returnUrl", "/")]);
        Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
        Assert.Contains("<html lang=\"de\">", await client.GetPageAsync("/"));
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("de-DE")]
    [InlineData("")]
    [InlineData("en;de")]
    public async Task UnsupportedCultureIsRejected(string culture)
    {
        var client = host.NewClient("en");
        using var response = await client.PostFormAsync("/language", [new("culture", culture)], "/login");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(".AspNetCore.Culture=", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    public async Task LanguageSwitchNeverRedirectsOffSite(string returnUrl)
    {
        var client = host.NewClient("en");
        using var response = await client.PostFormAsync("/language", [new("culture", "de"), new("returnUrl", returnUrl)], "/login");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task LanguageSwitchWithoutAntiforgeryTokenIsRejected()
    {
        using var response = await host.NewClient("en").PostRawAsync("/language", [new("culture", "de")]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
