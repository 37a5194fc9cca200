using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using MimeKit;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// The refused-mail report of inbound mandatory TLS against a running instance (on 127.0.91.x): a
/// plaintext attempt and a TLS 1.2 attempt with a CBC suite at a mandatory domain show up in
/// <c>securemx log --refused</c> and on the domain page for its admin, not for another domain's admin,
/// and the digest, switched on in the dashboard and run twice, arrives in the admin's Maildir once, from its own
/// envelope sender — without the attempt from that sender (the digest forwarded back), with the others.
/// </summary>
public sealed partial class RefusedMailReportTests
{
    private const string Domain = "refused.test";
    private const string OtherDomain = "other-refused.test";
    private const string Admin = "admin@" + Domain;
    private const string OtherAdmin = "admin@" + OtherDomain;
    private const string Password = "password123";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RefusedAttemptsShowInTheCliAndToTheAdminOnlyAndTheDigestArrivesOnce()
    {
        var mx = new IPEndPoint(IPAddress.Parse("127.0.91.1"), 25);
        var dashboard = new IPEndPoint(IPAddress.Parse("127.0.91.1"), 8443);
        await using var instance = await SecureMxInstance.CreateAsync(Domain, [Admin, "user@" + Domain],
            // No resolver there: the reverse name is unknown, quickly (the session waits at most 2 s for it).
            cfg => cfg["dns"] = "127.0.91.2:53",
            mx: mx, dashboard: dashboard);
        await instance.CliOk("domain", "add", OtherDomain);
        var added = await Run.SecureMxWithStdinAsync(Password + "\n", "mailbox", "add", OtherAdmin, "--password-stdin", "--data", instance.DataDir);
        Assert.True(added.ExitCode == 0, added.All);
        await instance.CliOk("domain", "admin", "add", Domain, Admin);
        await instance.CliOk("domain", "admin", "add", OtherDomain, OtherAdmin);
        await instance.CliOk("policy", "inbound", Domain, "mandatory");
        await instance.StartAsync();

        // A plaintext sender, and one with TLS 1.2 and only a CBC suite.
        await using (var plain = await TlsSmtpClient.ConnectAsync(mx))
        {
            await plain.CommandAsync("EHLO plain.sender.test");
            Assert.StartsWith("250", await plain.CommandAsync("MAIL FROM:<news@plain.sender.test>"));
            Assert.StartsWith("550 5.7.1", await plain.CommandAsync("RCPT TO:<user@" + Domain + ">"));
            await plain.CommandAsync("QUIT");
        }
        await using (var weak = await TlsSmtpClient.ConnectAsync(mx))
        {
            await weak.CommandAsync("EHLO weak.sender.test");
            await weak.StartTlsAsync("mx.securemx.test", SslProtocols.Tls12, [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]);
            await weak.CommandAsync("EHLO weak.sender.test");
            Assert.StartsWith("250", await weak.CommandAsync("MAIL FROM:<refused-digest-noreply@mx.securemx.test>"));
            Assert.StartsWith("550 5.7.1", await weak.CommandAsync("RCPT TO:<" + Admin + ">"));
            await weak.CommandAsync("QUIT");
        }

        // The CLI: both attempts (the session log is written behind: wait for it), newest first, then the count per host.
        string[] lines = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(250, Ct))
        {
            var log = await instance.Cli("log", "--refused", "--domain", Domain);
            Assert.True(log.ExitCode == 0, log.All);
            lines = log.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length >= 3) break;
        }
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", lines));
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^\S+Z client=\S+ rdns=unknown helo=weak\.sender\.test from=<refused-digest-noreply@mx\.securemx\.test> to=<admin@refused\.test> lacked=cipher TLSv1\.2 TLS_ECDHE_\w+_WITH_AES_128_CBC_SHA256 \(550 5\.7\.1 ", lines[0]);
        Assert.Matches(@"^\S+Z client=\S+ rdns=unknown helo=plain\.sender\.test from=<news@plain\.sender\.test> to=<user@refused\.test> lacked=no-tls \(550 5\.7\.1 ", lines[1]);
        Assert.Matches(@"^host \S+ rdns=unknown helo=\S+ attempts=2 last=\S+Z$", lines[2]);
        Assert.Empty((await instance.Cli("log", "--refused", "--domain", OtherDomain)).StdOut);

        // The domain page: its admin sees both; the other domain's admin is refused the page.
        using var admin = await SignInAsync(instance, Admin);
        var page = await admin.GetStringAsync($"/domain/{Domain}", Ct);
        Assert.Contains("data-total=\"2\"", page);
        Assert.Contains("data-lacked=\"cipher\"", page);
        Assert.Contains("data-lacked=\"no-tls\"", page);
        Assert.Contains("news@plain.sender.test", page);
        using (var other = await SignInAsync(instance, OtherAdmin))
        using (var denied = await other.GetAsync($"/domain/{Domain}", Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
            Assert.DoesNotContain("news@plain.sender.test", await denied.Content.ReadAsStringAsync(Ct));
        }

        // The digest: switched on in the dashboard, then run twice for today: one mail, to the admin's Maildir.
        using (var on = await PostFormAsync(admin, $"/domain/{Domain}", $"/domain/{Domain}?handler=RefusedDigest", ("on", "true")))
        {
            Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
        }
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var first = await instance.Cli("log", "--refused", "--send-digest", "--domain", Domain, "--day", today);
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains($"{Domain} {today}: queued", first.StdOut);
        var second = await instance.Cli("log", "--refused", "--send-digest", "--domain", Domain, "--day", today);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains($"{Domain} {today}: sent or claimed already", second.StdOut);
        var delivered = await instance.WaitForMessagesAsync(Admin, 1, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // nothing else comes
        Assert.Single(instance.Messages(Admin));
        var digest = MimeMessage.Load(delivered[0]);
        Assert.Equal("auto-generated", digest.Headers["Auto-Submitted"]);
        Assert.Equal("<refused-digest-noreply@mx.securemx.test>", digest.Headers["Return-Path"]);
        // The weak attempt came from the digest's own sender: a digest forwarded back, so the digest leaves it out
        // (the page and the CLI above list it).
        Assert.Contains($"Refused mail for {Domain} on {today}: 1 attempt(s)", digest.Subject);
        Assert.Contains("from <news@plain.sender.test> to <user@refused.test>  lacked: no TLS", digest.TextBody);
        Assert.DoesNotContain("to <" + Admin + ">", digest.TextBody);
        Assert.Empty(instance.Messages(OtherAdmin));
    }

    /// <summary>A dashboard session (cookies, no redirects followed, the instance's self-signed certificate accepted).</summary>
    private static async Task<HttpClient> SignInAsync(SecureMxInstance instance, string address)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var http = new HttpClient(handler) { BaseAddress = new Uri(instance.DashboardUrl), Timeout = TimeSpan.FromSeconds(15) };
        using var login = await PostFormAsync(http, "/login", "/login", ("address", address), ("password", Password));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return http;
    }

    /// <summary>POSTs a form with the antiforgery token of a form on <paramref name="tokenPage"/>.</summary>
    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient http, string tokenPage, string path, params (string Name, string Value)[] fields)
    {
        var html = await http.GetStringAsync(tokenPage, Ct);
        var token = WebUtility.HtmlDecode(TokenField().Match(html).Groups[1].Value);
        Assert.NotEmpty(token);
        var form = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).Append(new("__af", token));
        return await http.PostAsync(path, new FormUrlEncodedContent(form), Ct);
    }

    [GeneratedRegex("<input[^>]*name=\"__af\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
