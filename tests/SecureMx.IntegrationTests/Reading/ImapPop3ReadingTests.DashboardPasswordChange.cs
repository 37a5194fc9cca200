using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using MailKit.Security;
using Microsoft.Playwright;
using SecureMx.IntegrationTests.Support;
using static Microsoft.Playwright.Assertions;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// Issue 12: SecureMx and Dovecot as one system. The password a user changes on the dashboard is the
/// one password of IMAP, POP3 and SMTP AUTH at once, and the settings the dashboard and the autoconfig
/// file give mail programs name the ports Dovecot really listens on.
/// </summary>
public sealed partial class ImapPop3ReadingTests
{
    [Fact]
    public async Task ADashboardPasswordChangeHoldsForImapPop3AndSmtpAuthAtOnce_AndThePageAndAutoconfigNameDovecotsPorts()
    {
        // Two wrong logins in all (IMAP and SMTP AUTH with the old password): below the per-account throttle.
        var henry = A("henry");
        const string next = "henrys-brand-new-passphrase";
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, henry, Password), "IMAPS refused the initial password:\n" + f.Dovecot.Log);

        await using var session = await browser.NewPageAsync(f.Mx.DashboardUrl);
        var page = session.Page;
        await page.GotoAsync("/login");
        await page.Locator("#address").FillAsync(henry);
        await page.Locator("#password").FillAsync(Password);
        await page.Locator("#sign-in").ClickAsync();
        await Expect(page.Locator("#sign-out")).ToBeVisibleAsync();
        Assert.Equal(200, (await page.GotoAsync("/account/" + henry))!.Status);

        // What dovecot-config wrote into securemx.json, as the page shows it: Dovecot's real listeners.
        var table = page.Locator("#mail-client-settings");
        await Expect(table.Locator("tr.entry")).ToHaveCountAsync(6);
        async Task RowAsync(string service, int port, string security)
        {
            var row = table.Locator($"tr[data-service={service}]");
            await Expect(row.Locator("td.server")).ToHaveTextAsync(f.Mx.Hostname);
            await Expect(row.Locator("td.port")).ToHaveTextAsync(port.ToString(CultureInfo.InvariantCulture));
            await Expect(row.Locator("td.security")).ToHaveTextAsync(security);
            await Expect(row.Locator("td.username")).ToHaveTextAsync(henry);
        }
        await RowAsync("imaps", f.Dovecot.Imaps.Port, "SSL/TLS");
        await RowAsync("imap", f.Dovecot.Imap.Port, "STARTTLS");
        await RowAsync("pop3s", f.Dovecot.Pop3s.Port, "SSL/TLS");
        await RowAsync("pop3", f.Dovecot.Pop3.Port, "STARTTLS");
        await RowAsync("submissions", f.Mx.Submissions!.Port, "SSL/TLS");
        await RowAsync("submission", f.Mx.Submission!.Port, "STARTTLS");

        var form = page.Locator("#password-change");
        await form.Locator("#password-current").FillAsync(Password);
        await form.Locator("#password-new").FillAsync(next);
        await form.Locator("#password-confirm").FillAsync(next);
        await form.Locator("#password-submit").ClickAsync();
        await Expect(page.Locator("#password-changed")).ToBeVisibleAsync();
        await Expect(page.Locator("#password-error")).ToHaveCountAsync(0);
        await table.ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(page, "account-password-changed-with-dovecot");

        // Nothing restarted: Dovecot asks the store at each login (no auth cache), SMTP AUTH too.
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, henry, Password), "IMAPS still takes the old password");
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, henry, next), "IMAPS refused the new password:\n" + f.Dovecot.Log);
        using (var pop = await MailReader.Pop3Async(f.Mx, f.Dovecot.Pop3s, SecureSocketOptions.SslOnConnect))
        {
            await pop.AuthenticateAsync(henry, next);
            Assert.True(pop.IsSecure);
            await pop.DisconnectAsync(true);
        }
        using (var smtp = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, henry, next))
            Assert.True(smtp.Smtp.IsAuthenticated);
        await Assert.ThrowsAsync<AuthenticationException>(() => SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, henry, Password));

        // The autoconfig file a mail program fetches from this instance names the same ports.
        using var http = PinnedDashboardClient();
        var ct = TestContext.Current.CancellationToken;
        using var response = await http.GetAsync($"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={Uri.EscapeDataString(henry)}", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var provider = XDocument.Parse(await response.Content.ReadAsStringAsync(ct)).Root!.Element("emailProvider")!;
        static string Server(XElement e) => $"{(string?)e.Attribute("type")} {(string?)e.Element("hostname")}:{(string?)e.Element("port")} {(string?)e.Element("socketType")}";
        var host = f.Mx.Hostname;
        Assert.Equal(
        [
            $"imap {host}:{f.Dovecot.Imaps.Port} SSL",
            $"imap {host}:{f.Dovecot.Imap.Port} STARTTLS",
            $"pop3 {host}:{f.Dovecot.Pop3s.Port} SSL",
            $"pop3 {host}:{f.Dovecot.Pop3.Port} STARTTLS",
        ], provider.Elements("incomingServer").Select(Server));
        Assert.Equal(
        [
            $"smtp {host}:{f.Mx.Submissions.Port} SSL",
            $"smtp {host}:{f.Mx.Submission.Port} STARTTLS",
        ], provider.Elements("outgoingServer").Select(Server));

        Assert.DoesNotContain(next, f.Mx.Log);
        Assert.DoesNotContain(next, f.Dovecot.Log);
        await f.Mx.WaitForLogAsync($"dashboard: password of {henry} changed from ");
    }

    /// <summary>
    /// An HTTPS client for the dashboard as a mail program is set up: the URL names the instance's host
    /// name (SNI, the name check), the connection goes to the dashboard's loopback address, and only the
    /// instance certificate is trusted.
    /// </summary>
    private HttpClient PinnedDashboardClient()
    {
        byte[] pinned;
        using (var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(f.Mx.CertificatePath))) pinned = certificate.RawData;
        var dashboard = f.Mx.Dashboard ?? throw new InvalidOperationException("the fixture has no dashboard");
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(dashboard.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(dashboard, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The chain cannot be trusted (self-signed): the pin replaces it. The name must still match.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            cert is not null && cert.GetRawCertData().AsSpan().SequenceEqual(pinned)
            && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
        return new HttpClient(handler) { BaseAddress = new Uri($"https://{f.Mx.Hostname}:{dashboard.Port}"), Timeout = TimeSpan.FromSeconds(15) };
    }
}
