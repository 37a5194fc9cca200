using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MailKit.Security;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;
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

    /// <summary>
    /// Issue 6's acceptance flow: a user switches mandatory TLS on for their own outgoing mail in the
    /// dashboard, the store (CLI) agrees, mail to a server without STARTTLS is held back with 4.7.4, and
    /// the user sees why in the deferred-mail page and the delivery log.
    /// </summary>
    [Fact]
    public async Task Issue6_UserSwitchesOwnOutboundTlsMandatory_MailToPlainServerIsDeferredAndShownInQueueAndLog()
    {
        var bob = DashboardFixture.Bob;
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, bob);
        var response = await page.GotoAsync("/account/" + bob);
        Assert.Equal(200, response!.Status);
        var state = page.Locator("#account-outbound-switch #account-outbound-state");
        if (await PolicyValueAsync(bob, "outbound") == "mandatory")
        {
            // Another test of the class left it on: start from off, as a new user would.
            await page.Locator("#account-outbound-toggle").ClickAsync();
            await Expect(state).ToHaveAttributeAsync("data-state", "default");
        }
        await Expect(state).ToHaveAttributeAsync("data-state", "default");

        await page.Locator("#account-outbound-toggle").ClickAsync();
        await Expect(state).ToHaveAttributeAsync("data-state", "mandatory");
        Assert.Equal(f.Url + "/account/" + bob + "?saved=1", page.Url);
        await ShotAsync(page, "account-outbound-mandatory");
        var show = await PolicyShowAsync(bob);
        Assert.Matches(@"(?m)^  outbound: mandatory \(account setting\)", show);
        Assert.Matches(@"(?m)^  mail from this account: encrypt \(strictest of:\)", show);
        Assert.Contains($"dashboard:{bob}: {bob} outbound_tls default -> mandatory", show);

        var recipient = $"someone-{SubmissionClient.Token()}@{DashboardFixture.PlainDomain}";
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.StartTls, bob))
            await client.SendAsync(SubmissionClient.Message(SubmissionClient.Token(), bob, recipient), bob, recipient);
        var error = await WaitForDeferredAsync(recipient);
        Assert.Contains($"4.7.4 TLS is required, but was not offered by host {TestBed.Plain.Mx}", error);

        await page.GotoAsync("/queue");
        var queued = page.Locator("#deferred tr.entry").Filter(new() { HasText = recipient });
        await Expect(queued).ToHaveCountAsync(1);
        await Expect(queued.Locator("td.reason")).ToContainTextAsync("4.7.4");
        await Expect(queued.Locator("td.reason")).ToContainTextAsync($"TLS is required, but was not offered by host {TestBed.Plain.Mx}");
        await ShotAsync(page, "queue-tls-deferred");

        await page.GotoAsync("/log");
        var logged = page.Locator("#delivery-log tr.entry").Filter(new() { HasText = recipient });
        await Expect(logged.First).ToBeVisibleAsync();
        var deferred = logged.Filter(new() { HasText = "4.7.4" }).First;
        await Expect(deferred).ToContainTextAsync("deferred");
        await Expect(deferred).ToContainTextAsync("none (plaintext)");
        await Expect(deferred).Not.ToContainTextAsync("TLSv1");
        await ShotAsync(page, "log-tls-deferred");
        // Held back before MAIL FROM: the peer never saw the recipient in clear text.
        Assert.DoesNotContain(recipient, f.Plain.MailLog);
    }

    /// <summary>
    /// Issue 12, item 5: a user chooses German for the delivery notifications SecureMx sends them, on their
    /// account page; the store (CLI) agrees; the dashboard's own language is a separate choice and stays.
    /// </summary>
    [Fact]
    public async Task User_ChoosesGermanForTheirDeliveryNotificationsOnTheAccountPage()
    {
        var bob = DashboardFixture.Bob;
        await f.Mx.CliOk("mailbox", "language", bob, "en"); // as a new account starts
        try
        {
            await using var s = await NewPageAsync();
            var page = s.Page;
            await LoginAsync(page, bob);
            Assert.Equal(200, (await page.GotoAsync("/account/" + bob))!.Status);
            var section = page.Locator("#mail-language");
            await Expect(section).ToHaveAttributeAsync("data-language", "en");
            await Expect(section.Locator("input[value=en]")).ToBeCheckedAsync();
            await Expect(section.Locator("h2")).ToHaveTextAsync("Language of delivery notifications");

            await section.Locator("input[value=de]").CheckAsync();
            await section.Locator("#mail-language-save").ClickAsync();
            await Expect(section).ToHaveAttributeAsync("data-language", "de");
            Assert.Equal(f.Url + "/account/" + bob + "?saved=1", page.Url);
            await Expect(page.Locator("#saved")).ToBeVisibleAsync();
            await Expect(section.Locator("input[value=de]")).ToBeCheckedAsync();
            Assert.Equal("de\n", (await f.Mx.Cli("mailbox", "language", bob)).StdOut);
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
            await section.ScrollIntoViewIfNeededAsync();
            await ShotAsync(page, "account-mail-language-de");

            await section.Locator("input[value=en]").CheckAsync();
            await section.Locator("#mail-language-save").ClickAsync();
            await Expect(section).ToHaveAttributeAsync("data-language", "en");
            Assert.Equal("en\n", (await f.Mx.Cli("mailbox", "language", bob)).StdOut);
        }
        finally
        {
            await f.Mx.CliOk("mailbox", "language", bob, "en");
        }
    }

    /// <summary>The domain admin's page: inbound needs the explicit confirmation, every switch reaches the store and the audit.</summary>
    [Fact]
    public async Task DomainAdmin_SwitchesInboundOnlyWithConfirmation_OutboundAndAccounts_AndChecksDns()
    {
        string domain = DashboardFixture.Domain, alice = DashboardFixture.Alice, bob = DashboardFixture.Bob;
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, alice);
        var response = await page.GotoAsync("/domain/" + domain);
        Assert.Equal(200, response!.Status);
        await Expect(page.Locator("#inbound-switch")).ToBeVisibleAsync();
        await Expect(page.Locator("#accounts")).ToContainTextAsync(bob);
        await ShotAsync(page, "domain-page");

        // Inbound ON without the confirmation tick: refused, nothing changes.
        Assert.Equal("opportunistic", await PolicyValueAsync(domain, "inbound"));
        var inbound = page.Locator("#inbound-switch");
        var inboundState = inbound.Locator("#inbound-state");
        await Expect(inboundState).ToHaveAttributeAsync("data-state", "opportunistic");
        await inbound.Locator("button.switch").ClickAsync();
        await Expect(inbound.Locator(".error")).ToBeVisibleAsync();
        await Expect(inboundState).ToHaveAttributeAsync("data-state", "opportunistic");
        Assert.Equal("opportunistic", await PolicyValueAsync(domain, "inbound"));

        // With the tick: on, and the audit names the dashboard user.
        await inbound.Locator("input[name=confirm]").CheckAsync();
        await inbound.Locator("button.switch").ClickAsync();
        await Expect(inboundState).ToHaveAttributeAsync("data-state", "mandatory");
        Assert.Equal("mandatory", await PolicyValueAsync(domain, "inbound"));
        Assert.Contains($"dashboard:{alice}: {domain} inbound_tls opportunistic -> mandatory", await PolicyShowAsync(domain));
        var audit = page.Locator("#audit tr.entry").Filter(new() { HasText = "dashboard:" + alice });
        await Expect(audit.Filter(new() { HasText = domain }).First).ToBeVisibleAsync();
        await Expect(page.Locator("#audit")).ToContainTextAsync("dashboard:" + alice);
        await ShotAsync(page, "domain-page-inbound-mandatory");

        // Off again needs no confirmation (it only widens what is accepted).
        await inbound.Locator("button.switch").ClickAsync();
        await Expect(inboundState).ToHaveAttributeAsync("data-state", "opportunistic");
        Assert.Equal("opportunistic", await PolicyValueAsync(domain, "inbound"));

        // Outbound for the whole domain: on and off.
        var outbound = page.Locator("#outbound-switch");
        await outbound.Locator("button.switch").ClickAsync();
        await Expect(outbound.Locator("#outbound-state")).ToHaveAttributeAsync("data-state", "mandatory");
        Assert.Matches(@"(?m)^  outbound: mandatory \(domain setting\)", await PolicyShowAsync(domain));
        await outbound.Locator("button.switch").ClickAsync();
        await Expect(outbound.Locator("#outbound-state")).ToHaveAttributeAsync("data-state", "default");
        Assert.Matches(@"(?m)^  outbound: default \(domain setting\)", await PolicyShowAsync(domain));

        // One account's switch, there and back (whatever another test left it at).
        var before = await PolicyValueAsync(bob, "outbound");
        var flipped = before == "mandatory" ? "default" : "mandatory";
        var row = page.Locator($"#accounts [data-address=\"{bob}\"]");
        await row.Locator("button.switch").ClickAsync();
        await Expect(row).ToHaveAttributeAsync("data-state", flipped);
        Assert.Equal(flipped, await PolicyValueAsync(bob, "outbound"));
        Assert.Contains($"dashboard:{alice}: {bob} outbound_tls {before} -> {flipped}", await PolicyShowAsync(bob));
        await row.Locator("button.switch").ClickAsync();
        await Expect(row).ToHaveAttributeAsync("data-state", before);
        Assert.Equal(before, await PolicyValueAsync(bob, "outbound"));

        // The live DNS check through the test bed's validating resolver: the Demo domain's MX is the secure MX
        // only, signed, the secure MX's TLSA record matches the certificate the instance serves, and TLS reports go to
        // the report address.
        await page.Locator("#dns-check button[type=submit]").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"[?&]check=1"));
        await Expect(page.Locator("#dns-check tr.check")).ToHaveCountAsync(4);
        await Expect(page.Locator("#dns-check tr.check[data-item=mx]")).ToHaveAttributeAsync("data-level", "ok");
        await Expect(page.Locator("#dns-check tr.check[data-item=mx-dnssec]")).ToHaveAttributeAsync("data-level", "ok");
        await Expect(page.Locator("#dns-check tr.check[data-item=tlsa]")).ToHaveAttributeAsync("data-level", "ok");
        // The _smtp._tls record the Demo zone publishes names the default report address (RFC 8460 §3).
        await Expect(page.Locator("#dns-check tr.check[data-item=tlsrpt]")).ToHaveAttributeAsync("data-level", "ok");
        await page.Locator("#dns-check").ScrollIntoViewIfNeededAsync();
        await ShotAsync(page, "domain-page-dns-check");
    }

    /// <summary>The system admin's pages: admin (domains, roles, destination table), log and queue of all domains.</summary>
    [Fact]
    public async Task SystemAdmin_SeesAdminPageWithDomainsAndRoles_AndTheMainPages()
    {
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, DashboardFixture.Root);
        await Expect(page.Locator("header nav a[href='/admin']")).ToBeVisibleAsync();
        await ShotAsync(page, "overview-admin");

        var response = await page.GotoAsync("/admin");
        Assert.Equal(200, response!.Status);
        var domainRow = page.Locator($"#domains [data-domain=\"{DashboardFixture.Domain}\"]");
        await Expect(domainRow).ToContainTextAsync(DashboardFixture.Alice);
        await Expect(page.Locator("#system-admins")).ToContainTextAsync(DashboardFixture.Root);
        await ShotAsync(page, "admin");

        Assert.Equal(200, (await page.GotoAsync("/account/" + DashboardFixture.Bob))!.Status);
        await Expect(page.Locator("#account-outbound-toggle")).ToBeVisibleAsync();
        await ShotAsync(page, "account");
        Assert.Equal(200, (await page.GotoAsync("/log"))!.Status);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Delivery log");
        await ShotAsync(page, "log");
        Assert.Equal(200, (await page.GotoAsync("/queue"))!.Status);
        await Expect(page.Locator("h1")).ToBeVisibleAsync();
        await ShotAsync(page, "queue");
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

    /// <summary>
    /// Issue 13: signing out ends the session on the server. The login cookie, copied into a second
    /// browser before the sign-out (as a thief or a shared computer would keep it), opens the account
    /// until then and only the login page after it.
    /// </summary>
    [Fact]
    public async Task SignOut_EndsTheSession_AlsoForACopyOfItsCookie()
    {
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, DashboardFixture.Bob);
        var captured = (await s.Context.CookiesAsync()).Where(c => c.Name == "__Host-securemx").ToList();
        Assert.Single(captured);
        await using var thief = await NewPageAsync();
        await thief.Context.AddCookiesAsync(captured.Select(c => new Cookie
        {
            Name = c.Name, Value = c.Value, Domain = c.Domain, Path = c.Path, Secure = c.Secure, HttpOnly = c.HttpOnly, SameSite = c.SameSite,
        }));
        await thief.Page.GotoAsync("/account/" + DashboardFixture.Bob);
        await Expect(thief.Page.Locator("#sign-out")).ToBeVisibleAsync();

        await page.Locator("#sign-out").ClickAsync();
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Regex("/login"));
        await Expect(page.Locator("#sign-out")).ToHaveCountAsync(0);

        await thief.Page.GotoAsync("/account/" + DashboardFixture.Bob);
        await Expect(thief.Page).ToHaveURLAsync(new Regex("/login"));
        await Expect(thief.Page.Locator("#sign-out")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task DomainPage_InGerman_ForTheDomainAdmin()
    {
        // Locale "de": Accept-Language "de", independent of the language switch and of region fallback.
        await using var s = await NewPageAsync("de");
        var page = s.Page;
        await LoginAsync(page, DashboardFixture.Alice);
        var response = await page.GotoAsync("/domain/" + DashboardFixture.Domain);
        Assert.Equal(200, response!.Status);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await Expect(page.Locator("#inbound-switch")).ToBeVisibleAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync(DashboardFixture.Domain);
        await Expect(page.Locator("header nav")).ToContainTextAsync("Zustellprotokoll");
        await Expect(page.Locator("#inbound-switch h2")).ToHaveTextAsync("Eingehende E-Mails: TLS-Pflicht");
        await Expect(page.Locator("#dns-check button[type=submit]")).ToHaveTextAsync("DNS jetzt prüfen");
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
