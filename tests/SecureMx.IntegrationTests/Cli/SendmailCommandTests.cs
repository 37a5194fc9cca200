using System.Text.Json;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// securemx sendmail routes recipients as SMTP RCPT does (one router): subaddresses, aliases and
/// postmaster of a hosted domain are local, unknown users of a hosted domain are refused, anything
/// else goes out. No server runs: the queue shows where each recipient would go.
/// </summary>
public sealed partial class SendmailCommandTests
{
    [GeneratedRegex("queued as ([0-9A-Z]{16})")]
    private static partial Regex QueuedAs();

    private static async Task<ProcessResult> SendmailAsync(SecureMxInstance mx, string from, params string[] recipients) =>
        await Run.SecureMxWithStdinAsync("Subject: routed\n\nhello\n", ["sendmail", "-f", from, .. recipients, "--data", mx.DataDir]);

    /// <summary>(address, original, route) of each recipient of the queued message <paramref name="id"/>.</summary>
    private static async Task<List<(string Address, string Original, string Route)>> RecipientsAsync(SecureMxInstance mx, string id)
    {
        var json = await mx.Cli("queue", "list", "--json");
        Assert.True(json.ExitCode == 0, json.All);
        using var doc = JsonDocument.Parse(json.StdOut);
        var message = doc.RootElement.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);
        return message.GetProperty("recipients").EnumerateArray()
            .Select(r => (r.GetProperty("address").GetString()!, r.GetProperty("original").GetString()!, r.GetProperty("route").GetString()!))
            .ToList();
    }

    [Fact]
    public async Task SubaddressAliasAndPostmasterOfAHostedDomainAreDeliveredLocally()
    {
        await using var mx = await SecureMxInstance.CreateAsync("hosted.test", ["alice@hosted.test", "bob@hosted.test"]);
        await mx.CliOk("alias", "add", "team@hosted.test", "bob@hosted.test");

        var r = await SendmailAsync(mx, "bob@hosted.test", "alice+news@hosted.test", "Team+2026@Hosted.Test", "postmaster@hosted.test", "someone@elsewhere.test");

        Assert.True(r.ExitCode == 0, r.All);
        var id = QueuedAs().Match(r.StdOut).Groups[1].Value;
        Assert.Equal(
            [
                ("alice@hosted.test", "alice+news@hosted.test", "local"),
                ("bob@hosted.test", "Team+2026@hosted.test", "local"),
                ("postmaster@hosted.test", "postmaster@hosted.test", "local"),
                ("someone@elsewhere.test", "someone@elsewhere.test", "remote"),
            ],
            await RecipientsAsync(mx, id));
    }

    [Fact]
    public async Task AnUnknownUserOfAHostedDomainIsRefusedAndNothingIsQueued()
    {
        await using var mx = await SecureMxInstance.CreateAsync("hosted.test", ["alice@hosted.test"]);

        var r = await SendmailAsync(mx, "alice@hosted.test", "nobody+tag@hosted.test");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nobody+tag@hosted.test: no such mailbox or alias on this server", r.StdErr);
        Assert.Equal("queue is empty\n", (await mx.Cli("queue", "list")).StdOut);
    }

    [Fact]
    public async Task MailToAHostedDomainsReportAddressGoesToTheReportReaderNotAMailbox()
    {
        await using var mx = await SecureMxInstance.CreateAsync("hosted.test", ["alice@hosted.test"]);
        var yesterday = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-1);

        // The same router as SMTP RCPT, with tlsReporting: the report address is no unknown user.
        var r = await Run.SecureMxWithStdinAsync(TlsReportSamples.GoogleMail("tlsrpt@hosted.test", yesterday, "hosted.test"),
            ["sendmail", "-f", "alice@hosted.test", "tlsrpt@hosted.test", "--data", mx.DataDir]);

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal([("tlsrpt@hosted.test", "tlsrpt@hosted.test", "local")], await RecipientsAsync(mx, QueuedAs().Match(r.StdOut).Groups[1].Value));
        await mx.StartAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!mx.Log.Contains("relay=tlsrpt status=sent (tls report stored)", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the report was not stored:\n" + mx.Log);
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.False(Directory.Exists(mx.MaildirNew("tlsrpt@hosted.test")));
    }
}
