using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;
using SecureMx.Tls;

namespace SecureMx.IntegrationTests.Reporting;

/// <summary>
/// TLS reports received for a hosted domain (issue 17, item 3), end to end with a real `securemx serve` on 127.0.94.x: a
/// Google-style report mail sent with swaks in plaintext to tlsrpt@ a domain with mandatory inbound TLS (the report address
/// is exempt, RFC 8460 §5.3; the domain's mailboxes are not), a SIZE= above maxReportBytes refused at RCPT, the HTTPS POST on
/// the MTA-STS listener (stored, the same report again, hostile bodies refused, 411/413/415/405), the domain page of the
/// domain's administrator showing what was stored, and `dns-records` printing the `_smtp._tls` record.
/// </summary>
public sealed class TlsReportReceivingTests(ITestOutputHelper output)
{
    private const string Domain = TlsReportSamples.Domain;
    private const string ReportHost = "mta-sts." + Domain;
    private const string Admin = "alice@" + Domain;
    private const string Sender = "127.0.94.4";

    private static IPEndPoint Free(string address)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    private static X509Certificate2 InstallCertificate(SecureMxInstance mx)
    {
        var dir = Directory.CreateDirectory(Path.Combine(mx.DataDir, "tls", "mta-sts")).FullName;
        var (cert, key) = CertificateFactory.CreateSelfSigned(ReportHost, TimeProvider.System);
        File.WriteAllText(Path.Combine(dir, ReportHost + ".key"), key);
        File.WriteAllText(Path.Combine(dir, ReportHost + ".pem"), cert);
        return X509Certificate2.CreateFromPem(cert);
    }

    private static HttpClient Client(IPEndPoint listener, X509Certificate2 trusted) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(Sender), 0)); // the reporter's address in the log lines
            await socket.ConnectAsync(listener, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { trusted } },
        },
    }) { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<(HttpStatusCode Status, string Text)> PostAsync(HttpClient client, byte[] body, string type = "application/tlsrpt+gzip", bool chunked = false)
    {
        HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"https://{ReportHost}/tlsrpt") { Content = content };
        if (chunked) request.Headers.TransferEncodingChunked = true;
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Trim());
    }

    /// <summary>Only the request line and headers (no body): the status line's code.</summary>
    private static async Task<int> HeadersOnlyAsync(IPEndPoint listener, string headers)
    {
        using var tcp = new TcpClient(new IPEndPoint(IPAddress.Parse(Sender), 0));
        await tcp.ConnectAsync(listener, TestContext.Current.CancellationToken);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = ReportHost }, TestContext.Current.CancellationToken);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"POST /tlsrpt HTTP/1.1\r\nHost: {ReportHost}\r\n{headers}\r\n"), TestContext.Current.CancellationToken);
        using var reader = new StreamReader(ssl, Encoding.ASCII);
        var status = await reader.ReadLineAsync(TestContext.Current.CancellationToken) ?? "";
        return int.Parse(status.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ReportsArriveByPlaintextMailToAMandatoryDomainAndByHttpsAreStoredOnceAndShownAndHostileOnesAreRefused()
    {
        var smtp = Free("127.0.94.1");
        var https = Free("127.0.94.2");
        var dashboard = Free("127.0.94.3");
        await using var mx = await SecureMxInstance.CreateAsync(Domain, mx: smtp, dashboard: dashboard,
            configure: cfg => cfg["listeners"]!["mtaSts"] = Net.Text(https));
        var certificate = InstallCertificate(mx);
        await mx.CliOk("domain", "admin", "add", Domain, Admin);
        await mx.CliOk("policy", "inbound", Domain, "mandatory");
        await mx.CliOk("policy", "mta-sts", Domain, "testing"); // the https: rua is offered only with a published MTA-STS policy
        await mx.StartAsync();
        await Net.WaitForPortAsync(https, TimeSpan.FromSeconds(30));
        var yesterday = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1);

        // By mail, in plaintext: the report address takes it although the domain takes mail only over secure TLS ...
        var file = Path.Combine(mx.DataDir, "google-report.eml");
        await File.WriteAllTextAsync(file, TlsReportSamples.GoogleMail("tlsrpt@" + Domain, yesterday), TestContext.Current.CancellationToken);
        var sent = await Run.ProcessAsync("swaks", ["--server", Net.Text(smtp), "--from", "noreply-smtp-tls-reporting@google.com", "--to", "tlsrpt@" + Domain,
            "--ehlo", "mail-sor-f41.google.com", "--data", file, "--timeout", "30"]);
        Assert.True(sent.ExitCode == 0, "swaks, plaintext, to the report address: " + sent.All);
        Assert.DoesNotContain("STARTTLS", sent.All.Split('\n').Where(l => l.StartsWith(" -> ", StringComparison.Ordinal)));
        Assert.Contains($"250 2.1.5 <tlsrpt@{Domain}>", sent.All);
        await mx.WaitForLogAsync("relay=tlsrpt status=sent (tls report stored)"); // the console logger writes behind: wait for each line
        await mx.WaitForLogAsync("tls report from Google Inc./noreply-smtp-tls-reporting@google.com id ");
        // ... while a mailbox of the domain is still refused in plaintext, and no Maildir got the report.
        Assert.Contains($"550 5.7.1 <{Admin}>", await SmtpProbe.RcptAsync(smtp, Admin));
        Assert.False(Directory.Exists(mx.MaildirNew("tlsrpt@" + Domain)));

        // SIZE= above tlsReporting.maxReportBytes: refused at RCPT, nothing queued.
        await using (var raw = await RawSmtp.ConnectAsync(smtp))
        {
            await raw.ReadReplyAsync();
            await raw.CommandAsync("EHLO big.sender.example");
            Assert.StartsWith("250", await raw.CommandAsync("MAIL FROM:<reports@big.sender.example> SIZE=6000000"));
            Assert.StartsWith("552 5.3.4", await raw.CommandAsync($"RCPT TO:<tlsrpt@{Domain}>"));
        }

        // By HTTPS POST on the MTA-STS listener.
        using var client = Client(https, certificate);
        Assert.Equal((HttpStatusCode.OK, "already stored"), await PostAsync(client, TlsReportSamples.Gzip(TlsReportSamples.Json(TlsReportSamples.Google, yesterday))));
        Assert.Equal((HttpStatusCode.OK, "stored"), await PostAsync(client, TlsReportSamples.Json(TlsReportSamples.RfcExample, yesterday), "application/tlsrpt+json"));
        var bomb = TlsReportSamples.Gzip(new byte[30 * 1024 * 1024]);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(client, bomb)).Status);
        var deep = Encoding.ASCII.GetBytes(new string('[', 10_000) + new string(']', 10_000));
        Assert.Equal((HttpStatusCode.BadRequest, "JSON nested deeper than 16"), await PostAsync(client, deep, "application/tlsrpt+json"));
        var gzip = TlsReportSamples.Gzip(TlsReportSamples.Json(TlsReportSamples.Microsoft, yesterday));
        Assert.Equal((HttpStatusCode.BadRequest, "truncated gzip"), await PostAsync(client, gzip[..^6]));
        Assert.Equal((HttpStatusCode.BadRequest, "not JSON"), await PostAsync(client, "<feedback/>"u8.ToArray(), "application/tlsrpt+json"));
        Assert.Equal((HttpStatusCode.BadRequest, "report for a domain not hosted here (elsewhere.example)"),
            await PostAsync(client, TlsReportSamples.Json(TlsReportSamples.RfcExample, yesterday, "elsewhere.example"), "application/tlsrpt+json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PostAsync(client, gzip, "application/octet-stream")).Status);
        Assert.Equal((HttpStatusCode.BadRequest, "declared JSON, but the body is gzip"), await PostAsync(client, gzip, "application/tlsrpt+json"));
        Assert.Equal(HttpStatusCode.LengthRequired, (await PostAsync(client, gzip, chunked: true)).Status);
        Assert.Equal(413, await HeadersOnlyAsync(https, "Content-Type: application/tlsrpt+gzip\r\nContent-Length: 6000000\r\n"));
        await mx.WaitForLogAsync($"tls report from {Sender} refused: 6000000 bytes, more than 5242880");
        using (var get = await client.GetAsync($"https://{ReportHost}/tlsrpt", TestContext.Current.CancellationToken))
            Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        await mx.WaitForLogAsync($"tls report from ?/{Sender} refused: JSON nested deeper than 16");
        await mx.WaitForLogAsync($"tls report from ?/{Sender} refused: declared JSON, but the body is gzip");
        await mx.WaitForLogAsync($"tls report from Company-X/{Sender} refused: report for a domain not hosted here (elsewhere.example)");
        // Still fine afterwards: the next report is stored, the policy still served.
        Assert.Equal((HttpStatusCode.OK, "stored"), await PostAsync(client, gzip));
        using (var policy = await client.GetAsync($"https://{ReportHost}/.well-known/mta-sts.txt", TestContext.Current.CancellationToken))
            Assert.Equal(HttpStatusCode.OK, policy.StatusCode);

        // The domain's administrator sees who reported failures.
        using var page = new DashboardHttpClient(mx);
        await page.LoginAsync(Admin, "password123");
        using var response = await page.GetAsync("/domain/" + Domain);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("data-organization=\"Google Inc.\" data-policy=\"sts\" data-successful=\"5326\" data-failed=\"3\"", html);
        Assert.Contains("data-organization=\"Company-X\" data-policy=\"sts\" data-successful=\"5326\" data-failed=\"303\"", html);
        Assert.Contains("data-organization=\"Microsoft Corporation\" data-result-type=\"tlsa-invalid\" data-sessions=\"7\"", html);
        Assert.DoesNotContain("elsewhere.example", html);
        var section = html[html.IndexOf("<section class=\"card\" id=\"tls-reports\">", StringComparison.Ordinal)..];
        output.WriteLine(System.Text.RegularExpressions.Regex.Replace(section[..(section.IndexOf("</section>", StringComparison.Ordinal) + 10)], @"\n\s*\n", "\n"));

        var records = await mx.Cli("dns-records", Domain);
        Assert.Contains($"_smtp._tls.{Domain}.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tlsrpt@{Domain},https://{ReportHost}/tlsrpt\"", records.StdOut);
    }
}
