using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// TLS reports sent (RFC 8460 §5) on the MTA-STS test bed (<see cref="MtaStsFixture"/>): sts-enforce.test
/// publishes <c>_smtp._tls</c> with a mailto: (its Postfix peer's mailbox) and an https: rua (a collector on
/// tlsrpt.sts-enforce.test); sts-testing.test only an https: rua whose collector is down at first. After a
/// delivery, <c>securemx tls-report send --day TODAY</c> mails the report to the peer and posts it to the
/// collector exactly once — a second run and a run after a restart send nothing; the attached gzip JSON
/// and the POST body are the same report with the session; a collector that is down leaves the report
/// unsent until the next run. The peer's mailbox and the collector's request log are the witnesses.
/// </summary>
[TestMethodOrderer(typeof(DeclarationOrder))]
public sealed class TlsReportSendTests(MtaStsFixture f) : IClassFixture<MtaStsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    private static string Today => DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private TlsReportCollector Collector(TestBedZone zone) =>
        new(new IPEndPoint(f.Dns.AddressOf(MtaStsFixture.CollectorHostName(zone)), MtaStsFixture.PolicyPort), f.CollectorCertificates[zone.Name]);

    /// <summary>Sends as alice on the submissions port and waits until the domain's peer has it.</summary>
    private async Task DeliverAsync(TestBedZone zone)
    {
        const string sender = "alice@example.test";
        var token = SubmissionClient.Token();
        var rcpt = $"someone@{zone.Name}";
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, sender))
            await client.SendAsync(SubmissionClient.Message(token, sender, rcpt), sender, [rcpt]);
        await f.Peers[zone.Name].WaitForMessageAsync(token, Wait);
    }

    /// <summary>Waits until the server's counts (written behind) show a session to the domain today; returns the report JSON.</summary>
    private async Task<string> WaitForCountedAsync(TestBedZone zone)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var r = await f.Mx.Cli("tls-report", "show", zone.Name);
            if (r.ExitCode == 0 && r.StdOut.Contains("\"total-", StringComparison.Ordinal)) return r.StdOut;
            Assert.True(DateTime.UtcNow < deadline, $"no session to {zone.Name} counted: {r.All}");
            await Task.Delay(500);
        }
    }

    private async Task<ProcessResult> SendAsync(TestBedZone zone)
    {
        var r = await f.Mx.Cli("tls-report", "send", "--day", Today, "--domain", zone.Name);
        Output?.WriteLine($"$ securemx tls-report send --day {Today} --domain {zone.Name}  (exit {r.ExitCode})\n{r.All}");
        return r;
    }

    private string[] ReportMails(TestBedZone zone) =>
        f.Peers[zone.Name].StoredMessages().Where(m => m.Contains($"TLS-Report-Domain: {zone.Name}", StringComparison.Ordinal)).ToArray();

    private static JsonDocument Gunzip(byte[] gzip) => JsonDocument.Parse(new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress));

    private static string Unzipped(byte[] gzip)
    {
        using var output = new MemoryStream();
        new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress).CopyTo(output);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Fact]
    public async Task AReportGoesToTheMailtoAndTheHttpsRuaOnceAcrossRunsAndARestart()
    {
        var zone = TestBed.StsEnforce;
        await using var collector = Collector(zone);
        collector.Start();
        await DeliverAsync(zone);
        await WaitForCountedAsync(zone);

        var first = await SendAsync(zone);
        Assert.Equal(0, first.ExitCode);
        Assert.Contains($"{zone.Name} {Today}: sent", first.StdOut);

        var deadline = DateTime.UtcNow + Wait;
        while (ReportMails(zone).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no report mail at the peer:\n" + f.Peers[zone.Name].MailLog);
            await Task.Delay(200);
        }
        var source = Assert.Single(ReportMails(zone));
        Output?.WriteLine("---- the report mail as the peer stored it ----\n" + source);
        var message = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(source)));
        Assert.StartsWith($"Report Domain: {zone.Name} Submitter: ", message.Subject);
        Assert.Contains("Report-ID: <", message.Subject);
        Assert.Equal("tlsrpt", Assert.IsType<MultipartReport>(message.Body).ReportType);
        var part = Assert.IsType<MimePart>(((MultipartReport)message.Body)[1]);
        Assert.Equal("application/tlsrpt+gzip", part.ContentType.MimeType);
        Assert.EndsWith(".json.gz", part.FileName);
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        var mailed = decoded.ToArray();
        using var json = Gunzip(mailed);
        var policy = json.RootElement.GetProperty("policies")[0];
        Assert.Equal("sts", policy.GetProperty("policy").GetProperty("policy-type").GetString());
        Assert.Equal(zone.Name, policy.GetProperty("policy").GetProperty("policy-domain").GetString());
        Assert.True(policy.GetProperty("summary").GetProperty("total-successful-session-count").GetInt64() >= 1);

        var (head, posted) = Assert.Single(collector.Posts);
        Assert.StartsWith("POST /v1/tlsrpt HTTP/1.1\r\n", head);
        Assert.Contains("Content-Type: application/tlsrpt+gzip", head);
        Assert.Equal(Unzipped(mailed), Unzipped(posted));
        Assert.Empty(TlsReportSchema.Errors(Unzipped(posted)));
        Output?.WriteLine("---- the report JSON (mailed and posted) ----\n" + Unzipped(posted));

        // A second run, and a run after a restart, send nothing: the claim in the store says it went.
        var second = await SendAsync(zone);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("already sent", second.StdOut);
        await f.Mx.StopAsync();
        await f.Mx.StartAsync();
        var third = await SendAsync(zone);
        Assert.Contains("already sent", third.StdOut);
        // The session that carried the report to sts-enforce.test is not counted (RFC 8460 §5.3); the stop wrote every count.
        Assert.Contains("\"total-successful-session-count\":1,", await WaitForCountedAsync(zone));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Single(ReportMails(zone));
        Assert.Single(collector.Posts);
    }

    [Fact]
    public async Task ACollectorThatIsDownLeavesTheReportForTheNextRun()
    {
        var zone = TestBed.StsTesting;
        await DeliverAsync(zone);
        await WaitForCountedAsync(zone);

        var down = await SendAsync(zone);
        Assert.Equal(1, down.ExitCode);
        Assert.Contains($"{zone.Name} {Today}: not sent", down.StdOut);

        await using var collector = Collector(zone);
        collector.Start();
        var up = await SendAsync(zone);
        Assert.Equal(0, up.ExitCode);
        Assert.Contains($"{zone.Name} {Today}: sent", up.StdOut);
        var (_, posted) = Assert.Single(collector.Posts);
        using var json = Gunzip(posted);
        var policy = json.RootElement.GetProperty("policies")[0];
        Assert.Equal("sts", policy.GetProperty("policy").GetProperty("policy-type").GetString());
        // testing mode: the MX's certificate names another host; delivered, counted as a failure.
        Assert.Contains(policy.GetProperty("failure-details").EnumerateArray(), d => d.GetProperty("result-type").GetString() == "certificate-host-mismatch");
        Assert.Empty(TlsReportSchema.Errors(Unzipped(posted)));
        Output?.WriteLine("---- the report JSON posted after the collector came up ----\n" + Unzipped(posted));

        Assert.Contains("already sent", (await SendAsync(zone)).StdOut);
        Assert.Single(collector.Posts);
    }
}
