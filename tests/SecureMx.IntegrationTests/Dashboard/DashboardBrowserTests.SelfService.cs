using System.Net;
using System.Xml.Linq;
using MailKit.Security;
using Microsoft.Playwright;
using SecureMx.IntegrationTests.Support;
using static Microsoft.Playwright.Assertions;

namespace SecureMx.IntegrationTests.Dashboard;

/// <summary>
/// Self-service: a user changes their own password in the browser (other sessions end, SMTP AUTH takes
/// the new password at once), the account page's settings for mail programs, the autoconfig file a
/// mail program fetches over HTTPS, and the DNS records that point mail programs at it.
/// </summary>
public sealed partial class DashboardBrowserTests
{
    private static async Task LoginWithAsync(IPage page, string address, string password)
    {
        await page.GotoAsync("/login");
        await page.Locator("#address").FillAsync(address);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("#sign-in").ClickAsync();
        await Expect(page.Locator("#sign-out")).ToBeVisibleAsync();
    }

    private static async Task SubmitPasswordChangeAsync(IPage page, string current, string next, string confirmation)
    {
        var form = page.Locator("#password-change");
        await form.Locator("#password-current").FillAsync(current);
        await form.Locator("#password-new").FillAsync(next);
        await form.Locator("#password-confirm").FillAsync(confirmation);
        await form.Locator("#password-submit").ClickAsync();
    }

    /// <summary>AUTH on the submissions port (implicit TLS) with this password: true when the server took it.</summary>
    private async Task<bool> SmtpAuthWorksAsync(string address, string password)
    {
        try
        {
            using var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, address, password);
            return true;
        }
        catch (AuthenticationException)
        {
            return false;
        }
    }

    [Fact]
    public async Task SelfService_UserChangesOwnPassword_OtherSessionsEnd_SmtpAuthTakesTheNewOneAtOnce()
    {
        // An account of its own: the other tests of the class keep logging in with the shared password.
        var carol = $"carol-{SubmissionClient.Token()}@{DashboardFixture.Domain}";
        var added = await Run.SecureMxWithStdinAsync(SubmissionClient.Password + "\n", "mailbox", "add", carol, "--password-stdin", "--data", f.Mx.DataDir);
        Assert.True(added.ExitCode == 0, added.All);
        const string next = "a-brand-new-passphrase";

        await using var here = await NewPageAsync();
        await using var elsewhere = await NewPageAsync();
        await LoginWithAsync(here.Page, carol, SubmissionClient.Password);
        await LoginWithAsync(elsewhere.Page, carol, SubmissionClient.Password);
        var page = here.Page;
        Assert.Equal(200, (await page.GotoAsync("/account/" + carol))!.Status);
        await Expect(page.Locator("#password-change h2")).ToHaveTextAsync("Change password");

        // A wrong current password: refused, the password stays.
        await SubmitPasswordChangeAsync(page, "not-the-password", next, next);
        await Expect(page.Locator("#password-error")).ToHaveAttributeAsync("data-error", "currentwrong");
        await Expect(page.Locator("#password-error")).ToContainTextAsync("The current password is wrong.");
        await ShotAsync(page, "account-password-wrong-current");

        // The two new ones differ: refused, the password stays.
        await SubmitPasswordChangeAsync(page, SubmissionClient.Password, next, next + "-typo");
        await Expect(page.Locator("#password-error")).ToHaveAttributeAsync("data-error", "mismatch");
        await Expect(page.Locator("#password-error")).ToContainTextAsync("The two new passwords do not match.");
        Assert.True(await SmtpAuthWorksAsync(carol, SubmissionClient.Password), "the old password stopped working after refused changes");

        await SubmitPasswordChangeAsync(page, SubmissionClient.Password, next, next);
        await Expect(page.Locator("#password-changed")).ToBeVisibleAsync();
        await Expect(page.Locator("#password-error")).ToHaveCountAsync(0);
        Assert.EndsWith($"/account/{carol}?saved=password#password-change", page.Url, StringComparison.Ordinal);
        await ShotAsync(page, "account-password-changed");

        // This session stays; the other one ends at its next request.
        await page.GotoAsync("/log");
        await Expect(page.Locator("#sign-out")).ToBeVisibleAsync();
        Assert.EndsWith("/log", page.Url, StringComparison.Ordinal);
        await elsewhere.Page.GotoAsync("/account/" + carol);
        await Expect(elsewhere.Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"));
        await Expect(elsewhere.Page.Locator("#sign-out")).ToHaveCountAsync(0);

        // SMTP AUTH: the new password at once, the old one no more.
        Assert.True(await SmtpAuthWorksAsync(carol, next), "SMTP AUTH refused the new password:\n" + f.Mx.Log);
        Assert.False(await SmtpAuthWorksAsync(carol, SubmissionClient.Password), "SMTP AUTH still takes the old password");

        // And the dashboard's own login, in a fresh context.
        await using var fresh = await NewPageAsync();
        await LoginWithAsync(fresh.Page, carol, next);
        Assert.DoesNotContain(next, f.Mx.Log);
        await f.Mx.WaitForLogAsync($"dashboard: password of {carol} changed from ");
    }

    [Fact]
    public async Task SelfService_AccountPageShowsTheMailProgramSettingsOfTheConfiguredServices()
    {
        var bob = DashboardFixture.Bob;
        await using var s = await NewPageAsync();
        var page = s.Page;
        await LoginAsync(page, bob);
        Assert.Equal(200, (await page.GotoAsync("/account/" + bob))!.Status);
        var table = page.Locator("#mail-client-settings");
        await Expect(table.Locator("tr.entry")).ToHaveCountAsync(4);

        async Task RowAsync(string service, string name, int port, string security)
        {
            var row = table.Locator($"tr[data-service={service}]");
            await Expect(row.Locator("td.service")).ToHaveTextAsync(name);
            await Expect(row.Locator("td.server")).ToHaveTextAsync(DashboardFixture.MailHost);
            await Expect(row.Locator("td.port")).ToHaveTextAsync(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Expect(row.Locator("td.security")).ToHaveTextAsync(security);
            await Expect(row.Locator("td.authentication")).ToHaveTextAsync("Normal password");
            await Expect(row.Locator("td.username")).ToHaveTextAsync(bob);
        }
        await RowAsync("imaps", "Incoming mail (IMAP)", DashboardFixture.ImapsPort, "SSL/TLS");
        await RowAsync("pop3s", "Incoming mail (POP3)", DashboardFixture.Pop3sPort, "SSL/TLS");
        await RowAsync("submissions", "Outgoing mail (SMTP)", f.Mx.Submissions!.Port, "SSL/TLS");
        await RowAsync("submission", "Outgoing mail (SMTP)", f.Mx.Submission!.Port, "STARTTLS");
        await table.ScrollIntoViewIfNeededAsync();
        await ShotAsync(page, "account-mail-client-settings");
    }

    /// <summary>An HTTPS client that trusts exactly the instance certificate, as a mail program would after the user accepted it.</summary>
    private HttpClient PinnedHttpClient()
    {
        var pinned = f.Certificate.Leaf.RawData;
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetRawCertData().AsSpan().SequenceEqual(pinned);
        return new HttpClient(handler) { BaseAddress = new Uri(f.Url), Timeout = TimeSpan.FromSeconds(15) };
    }

    [Fact]
    public async Task Autoconfig_OverHttpsWithoutLogin_ForAHostedDomainOnly()
    {
        using var http = PinnedHttpClient();
        var ct = TestContext.Current.CancellationToken;

        using var response = await http.GetAsync($"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={Uri.EscapeDataString(DashboardFixture.Bob)}", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xml", response.Content.Headers.ContentType?.MediaType);
        var xml = await response.Content.ReadAsStringAsync(ct);
        var provider = XDocument.Parse(xml).Root!.Element("emailProvider")!;
        Assert.Equal(DashboardFixture.Domain, (string?)provider.Attribute("id"));
        static string Server(XElement e) => $"{(string?)e.Attribute("type")} {(string?)e.Element("hostname")}:{(string?)e.Element("port")} {(string?)e.Element("socketType")} {(string?)e.Element("username")} {(string?)e.Element("authentication")}";
        var mail = DashboardFixture.MailHost;
        Assert.Equal(
        [
            $"imap {mail}:{DashboardFixture.ImapsPort} SSL %EMAILADDRESS% password-cleartext",
            $"pop3 {mail}:{DashboardFixture.Pop3sPort} SSL %EMAILADDRESS% password-cleartext",
        ], provider.Elements("incomingServer").Select(Server));
        Assert.Equal(
        [
            $"smtp {mail}:{f.Mx.Submissions!.Port} SSL %EMAILADDRESS% password-cleartext",
            $"smtp {mail}:{f.Mx.Submission!.Port} STARTTLS %EMAILADDRESS% password-cleartext",
        ], provider.Elements("outgoingServer").Select(Server));
        TestContext.Current.TestOutputHelper?.WriteLine("autoconfig for " + DashboardFixture.Domain + ":\n" + xml);

        // Thunderbird's autoconfig.DOMAIN lookup: the host name names the domain.
        using var bySubdomain = new HttpRequestMessage(HttpMethod.Get, "/mail/config-v1.1.xml");
        bySubdomain.Headers.Host = "autoconfig." + DashboardFixture.Domain;
        using var subdomain = await http.SendAsync(bySubdomain, ct);
        Assert.Equal(HttpStatusCode.OK, subdomain.StatusCode);
        Assert.Equal(xml, await subdomain.Content.ReadAsStringAsync(ct));

        // A domain hosted elsewhere, and hostile input: never a file, never a server error.
        foreach (var query in new[] { "?emailaddress=user@" + DashboardFixture.PlainDomain, "?emailaddress=" + new string('x', 3000), "?emailaddress=a@b@c..d" })
        {
            using var refused = await http.GetAsync("/.well-known/autoconfig/mail/config-v1.1.xml" + query, ct);
            Assert.True(refused.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{query[..Math.Min(query.Length, 60)]}: {(int)refused.StatusCode}");
        }
        using var elsewhere = await http.GetAsync("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=user@" + DashboardFixture.PlainDomain, ct);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task DnsRecords_PointMailProgramsAtTheAutoconfigNameAndTheConfiguredServices()
    {
        var r = await f.Mx.Cli("dns-records", DashboardFixture.Domain);
        Assert.True(r.ExitCode == 0, r.All);
        var d = DashboardFixture.Domain;
        var mail = DashboardFixture.MailHost;
        var lines = r.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains($"autoconfig.{d}.\tIN\tCNAME\t{mail}.", lines);
        Assert.Contains($"_imaps._tcp.{d}.\tIN\tSRV\t0 1 {DashboardFixture.ImapsPort} {mail}.", lines);
        Assert.Contains($"_pop3s._tcp.{d}.\tIN\tSRV\t20 1 {DashboardFixture.Pop3sPort} {mail}.", lines);
        Assert.Contains($"_submissions._tcp.{d}.\tIN\tSRV\t0 1 {f.Mx.Submissions!.Port} {mail}.", lines);
        Assert.Contains($"_submission._tcp.{d}.\tIN\tSRV\t10 1 {f.Mx.Submission!.Port} {mail}.", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("_imap._tcp", StringComparison.Ordinal) || l.StartsWith("_pop3._tcp", StringComparison.Ordinal));
        // Still first: the MX record of before.
        Assert.StartsWith($"; publish in the zone of {d}: mail for {d} goes to the secure MX", lines[0], StringComparison.Ordinal);
        Assert.Equal($"{d}.\tIN\tMX\t10 {DashboardFixture.SecureMxHost}.", lines[1]);
    }
}
