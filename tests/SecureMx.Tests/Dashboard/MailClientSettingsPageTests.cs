using System.Net;
using System.Text.RegularExpressions;

namespace SecureMx.Tests.Dashboard;

/// <summary>The account page's table of settings for mail programs: the configured services, the account's address as user name.</summary>
public sealed partial class MailClientSettingsPageTests(MailAccessDashboardHost host) : IClassFixture<MailAccessDashboardHost>
{
    /// <summary>Each row of the table as "service: cell | cell | …", text only.</summary>
    private static string[] Rows(string html) => SettingsRow().Matches(html)
        .Select(m => m.Groups[1].Value + ": " + string.Join(" | ", Cell().Matches(m.Groups[2].Value).Select(c => WebUtility.HtmlDecode(c.Groups[1].Value.Trim()))))
        .ToArray();

    [Fact]
    public async Task TheOwnAccountShowsEveryConfiguredServiceWithTheFullAddressAsUserName()
    {
        var html = await (await host.As(Role.User)).GetPageAsync("/account/user@a.test");
        const string mail = MailAccessDashboardHost.MailHost;
        Assert.Equal(
        [
            $"imaps: Incoming mail (IMAP) | {mail} | 993 | SSL/TLS | Normal password | user@a.test",
            $"pop3s: Incoming mail (POP3) | {mail} | 995 | SSL/TLS | Normal password | user@a.test",
            $"submissions: Outgoing mail (SMTP) | {mail} | 2465 | SSL/TLS | Normal password | user@a.test",
            $"submission: Outgoing mail (SMTP) | {mail} | 2587 | STARTTLS | Normal password | user@a.test",
        ], Rows(html));
    }

    [Fact]
    public async Task AnAdministratorSeesTheSettingsOfTheAccountTheyLookAt()
    {
        var html = await (await host.As(Role.AdminA)).GetPageAsync("/account/other@a.test");
        Assert.All(Rows(html), r => Assert.EndsWith("| other@a.test", r, StringComparison.Ordinal));
        Assert.Equal(4, Rows(html).Length);
    }

    [Fact]
    public async Task InGermanTheLabelsAreGermanAndTheTechnicalNamesStay()
    {
        var client = await host.SignInAsync("user@b.test", acceptLanguage: "de");
        var rows = Rows(await client.GetPageAsync("/account/user@b.test"));
        Assert.Equal($"imaps: Posteingang (IMAP) | {MailAccessDashboardHost.MailHost} | 993 | SSL/TLS | Passwort, normal | user@b.test", rows[0]);
        Assert.StartsWith("submission: Postausgang (SMTP)", rows[^1], StringComparison.Ordinal);
    }

    [GeneratedRegex("<tr class=\"entry\" data-service=\"([a-z0-9]+)\">(.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex SettingsRow();

    [GeneratedRegex("<td[^>]*>(.*?)</td>", RegexOptions.Singleline)]
    private static partial Regex Cell();
}
