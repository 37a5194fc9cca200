using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailKit.Security;
using Microsoft.Playwright;
using SecureMx.IntegrationTests.Support;
using static Microsoft.Playwright.Assertions;

namespace SecureMx.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard through a real browser (Debian's Chromium, driven by Playwright) against a running
/// `securemx serve` (see <see cref="DashboardFixture"/>): login, language, the per-role pages, and the
/// issue's acceptance flow — a user switches mandatory TLS on and sees the mail it holds back.
/// Settings are cross-checked with the CLI, which reads the same store. One browser and one instance
/// serve the whole class; every test has its own browser context. Screenshots: artifacts/screenshots/.
/// </summary>
public sealed partial class DashboardBrowserTests(DashboardFixture f, BrowserFixture browser)
    : IClassFixture<DashboardFixture>, IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan DeferWait = TimeSpan.FromSeconds(30);

    private Task<BrowserSession> NewPageAsync(string locale = "en-US") => browser.NewPageAsync(f.Url, locale);

    private static async Task LoginAsync(IPage page, string address)
    {
        await page.GotoAsync("/login");
        await page.Locator("#address").FillAsync(address);
        await page.Locator("#password").FillAsync(SubmissionClient.Password);
        await page.Locator("#sign-in").ClickAsync();
        await Expect(page.Locator("#sign-out")).ToBeVisibleAsync();
    }

    private static Task ShotAsync(IPage page, string name) => BrowserFixture.ScreenshotAsync(page, name);

    /// <summary>`securemx policy show SUBJECT`: the store's view of a setting, independent of the page.</summary>
    private async Task<string> PolicyShowAsync(string subject)
    {
        var r = await f.Mx.Cli("policy", "show", subject);
        Assert.True(r.ExitCode == 0, r.All);
        return r.StdOut;
    }

    /// <summary>The "  outbound: VALUE (account setting)" / "  inbound:  VALUE" line of `policy show`.</summary>
    private async Task<string> PolicyValueAsync(string subject, string direction)
    {
        var text = await PolicyShowAsync(subject);
        var m = Regex.Match(text, $@"^  {direction}:\s+(\S+)", RegexOptions.Multiline);
        Assert.True(m.Success, $"no {direction} line in `policy show {subject}`:\n{text}");
        return m.Groups[1].Value;
    }

    /// <summary>Waits until the queue shows <paramref name="recipient"/> deferred with a last error; returns that error.</summary>
    private async Task<string> WaitForDeferredAsync(string recipient)
    {
        var deadline = DateTime.UtcNow + DeferWait;
        while (true)
        {
            var r = await f.Mx.Cli("queue", "list", "--json");
            Assert.True(r.ExitCode == 0, r.All);
            var rcpt = JsonNode.Parse(r.StdOut)!.AsArray()
                .SelectMany(m => m!["recipients"]!.AsArray())
                .FirstOrDefault(x => (string?)x!["address"] == recipient);
            if (rcpt is not null && (string?)rcpt["state"] == "deferred" && rcpt["lastError"] is { } e) return (string)e!;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{recipient} not deferred; queue:\n{r.StdOut}\nlog:\n{f.Mx.Log}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Login_WithMailboxPassword_ShowsTheOverviewOfTheOwnAccount()
    {
        await using var s = await NewPageAsync();
        var page = s.Page;
        var response = await page.GotoAsync("/");
        Assert.EndsWith("/login?ReturnUrl=%2F", page.Url, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(200, response!.Status);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");
        await ShotAsync(page, "login");

        await page.Locator("#address").FillAsync(DashboardFixture.Bob);
        await page.Locator("#password").FillAsync("wrong-password");
        await page.Locator("#sign-in").ClickAsync();
        await Expect(page.Locator("#login-error")).ToHaveTextAsync("Wrong address or password.");
        await Expect(page.Locator("#sign-out")).ToHaveCountAsync(0);

        await LoginAsync(page, DashboardFixture.Bob);
        Assert.Equal(f.Url + "/", page.Url);
        await Expect(page.Locator("#own-account")).ToContainTextAsync(DashboardFixture.Bob);
        await Expect(page.Locator("#managed-domains")).Not.ToContainTextAsync(DashboardFixture.Domain);
        await ShotAsync(page, "overview");
    }

    [Fact]
    public async Task Language_FollowsTheBrowser_GermanLocaleShowsGermanLogin()
    {
        // Playwright's Locale "de-DE" makes Chromium send "Accept-Language: de-DE" (one tag, as Safari does).
        await using var s = await NewPageAsync("de-DE");
        var page = s.Page;
        await page.GotoAsync("/login");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Anmelden");
        await Expect(page.Locator("#sign-in")).ToHaveTextAsync("Anmelden");
        await ShotAsync(page, "login-de");
    }

    [Fact]
    public async Task LanguageSwitch_ToEnglish_SticksAcrossLoginAndPages()
    {
        await using var s = await NewPageAsync("de-DE");
        var page = s.Page;
        await page.GotoAsync("/login");
        await page.Locator("#language-switch button[value=de]").ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Anmelden");

        await page.Locator("#language-switch button[value=en]").ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");

        // The choice is a cookie: it outlives the page and the login, and beats the browser's German Accept-Language.
        await LoginAsync(page, DashboardFixture.Alice);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Overview");
        await page.GotoAsync("/log");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
        await Expect(page.Locator("header nav")).ToContainTextAsync("Delivery log");

        await page.Locator("#language-switch button[value=de]").ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await page.GotoAsync("/");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Übersicht");
    }

    [Fact]
    public async Task DomainPage_InGerman_ForTheDomainAdmin()
    {
        await using var s = await NewPageAsync("de-DE");
        var page = s.Page;
        await page.GotoAsync("/login");
        await page.Locator("#language-switch button[value=de]").ClickAsync();
        await LoginAsync(page, DashboardFixture.Alice);
        var response = await page.GotoAsync("/domain/" + DashboardFixture.Domain);
        Assert.Equal(200, response!.Status);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await Expect(page.Locator("#inbound-switch")).ToBeVisibleAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync(DashboardFixture.Domain);
        await Expect(page.Locator("header nav")).ToContainTextAsync("Zustellprotokoll");
        await ShotAsync(page, "domain-page-de");
    }

    [Fact]
    public async Task User_CannotOpenAnotherAccount_OrTheDomainPage_OrAdmin()
    {
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, DashboardFixture.Bob);
        foreach (var path in new[] { "/account/" + DashboardFixture.Alice, "/domain/" + DashboardFixture.Domain, "/admin" })
        {
            var response = await page.GotoAsync(path);
            Assert.True(response!.Status == 403, $"{path}: {response.Status}");
            await Expect(page.Locator("#status-text")).ToHaveTextAsync("You are not allowed to see or change this.");
            await Expect(page.Locator("body")).Not.ToContainTextAsync(DashboardFixture.Alice);
        }
        await ShotAsync(page, "forbidden");
    }
}
