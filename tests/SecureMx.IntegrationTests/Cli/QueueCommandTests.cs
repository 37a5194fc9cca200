using System.Text.Json;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>securemx queue list/show/retry/delete against a running server whose local delivery is failing.</summary>
public sealed partial class QueueCommandTests
{
    [GeneratedRegex("queued as ([0-9A-Z]{16})")]
    private static partial Regex QueuedAs();

    private static async Task<string> SendAsync(SecureMxInstance mx, string subject, string sender = "sender@elsewhere.test")
    {
        await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
        await smtp.ReadReplyAsync();
        await smtp.CommandAsync("EHLO client.test");
        await smtp.CommandAsync($"MAIL FROM:<{sender}>");
        await smtp.CommandAsync("RCPT TO:<alice@example.test>");
        await smtp.CommandAsync("DATA");
        var reply = await smtp.CommandAsync($"Subject: {subject}\r\nFrom: sender@elsewhere.test\r\n\r\nthe private body text\r\n.");
        return QueuedAs().Match(reply).Groups[1].Value;
    }

    private static async Task<string> WaitForListAsync(SecureMxInstance mx, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var list = await mx.Cli("queue", "list");
            Assert.Equal(0, list.ExitCode);
            if (list.StdOut.Contains(text, StringComparison.Ordinal)) return list.StdOut;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{text}' not in queue list:\n{list.StdOut}\n{mx.Log}");
            await Task.Delay(200);
        }
    }

    /// <summary>`securemx log` for alice once it has a line of <paramref name="id"/> with <paramref name="result"/> (the log is written behind).</summary>
    private static async Task<string> WaitForLogAsync(SecureMxInstance mx, string id, string result)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var log = await mx.Cli("log", "--recipient", "alice@example.test");
            Assert.Equal(0, log.ExitCode);
            if (log.StdOut.Split('\n').Any(l => l.Contains(id, StringComparison.Ordinal) && l.Contains($" {result} ", StringComparison.Ordinal))) return log.StdOut;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {result} line for {id} in securemx log:\n{log.StdOut}\n{mx.Log}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task QueueCommandsTellTheTruthAboutADeferredMessageAndAct()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        Assert.Equal("queue is empty\n", (await mx.Cli("queue", "list")).StdOut);

        // Break the Maildir: new/ is a file, so delivery fails and the message must wait, not vanish.
        var newDir = mx.MaildirNew("alice@example.test");
        Directory.Delete(newDir);
        await File.WriteAllTextAsync(newDir, "in the way");
        await mx.StartAsync();

        var id = await SendAsync(mx, "queued for a while");
        Assert.Matches("^[0-9A-Z]{16}$", id);
        var listing = await WaitForListAsync(mx, "deferred");
        Assert.Contains(id, listing);
        Assert.Contains("<sender@elsewhere.test>", listing);
        // A local wait gives up after queue.expireAfter (5 days, less the seconds since it arrived).
        Assert.Matches(@"alice@example\.test\s+deferred\s+next: \S+ \(in \d+[sm]\)\s+expires: \S+ \(in 4d\)\s+attempts: 1\s+last: 4\.2\.0 local delivery failed", listing);
        Assert.Contains("-- 1 message(s), 1 recipient(s) pending", listing);

        var json = await mx.Cli("queue", "list", "--json");
        using (var doc = JsonDocument.Parse(json.StdOut))
        {
            var m = doc.RootElement[0];
            Assert.Equal(id, m.GetProperty("id").GetString());
            var r = m.GetProperty("recipients")[0];
            Assert.Equal("deferred", r.GetProperty("state").GetString());
            Assert.Equal(m.GetProperty("receivedAt").GetDateTimeOffset().AddDays(5), r.GetProperty("expiresAt").GetDateTimeOffset());
            var last = r.GetProperty("lastOutcome");
            Assert.Equal(("local", "4.2.0", 451), (last.GetProperty("reason").GetString(), last.GetProperty("status").GetString(), last.GetProperty("code").GetInt32()));
            Assert.Equal(JsonValueKind.Null, last.GetProperty("requiredTls").ValueKind);
        }

        var show = await mx.Cli("queue", "show", id);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("Subject: queued for a while", show.StdOut);
        Assert.Contains("sender:      <sender@elsewhere.test>", show.StdOut);
        Assert.Matches(@"recipient:   alice@example\.test \(rcpt to alice@example\.test\) deferred, attempts 1, next \S+Z, expires \S+Z, last: 4\.2\.0 local delivery failed", show.StdOut);
        Assert.DoesNotContain("private body", show.StdOut);

        // Repair, then ask for an immediate retry: it is delivered long before the 60 s retry interval.
        File.Delete(newDir);
        Directory.CreateDirectory(newDir);
        var retry = await mx.Cli("queue", "retry", id);
        Assert.Contains("1 recipient(s) scheduled", retry.StdOut);
        await mx.WaitForMessagesAsync("alice@example.test", 1, TimeSpan.FromSeconds(20));
        await WaitForListAsync(mx, "queue is empty");
        // The delivery log: the failed write and the delivery, both local (no network, so neither "none" nor a TLS level).
        var log = await WaitForLogAsync(mx, id, "delivered");
        Assert.Matches($@"{id} from=<sender@elsewhere\.test> to=<alice@example\.test> relay=local deferred tls=local \(451 4\.2\.0 local delivery failed", log);
        Assert.Matches($@"{id} from=<sender@elsewhere\.test> to=<alice@example\.test> relay=local delivered tls=local \(250 2\.0\.0 delivered to maildir\)", log);

        // Delete: gone from the queue and from the spool, never delivered.
        Directory.Delete(newDir, recursive: true);
        await File.WriteAllTextAsync(newDir, "in the way again");
        var doomed = await SendAsync(mx, "to be deleted");
        await WaitForListAsync(mx, doomed);
        var delete = await mx.Cli("queue", "delete", doomed);
        Assert.Equal(0, delete.ExitCode);
        Assert.Equal("queue is empty\n", (await mx.Cli("queue", "list")).StdOut);
        Assert.Equal(0, await mx.StopAsync());
    }

    [Fact]
    public async Task TheQueueStaysReadableWhenTheConfigurationIsBroken()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        var queued = await Run.SecureMxWithStdinAsync("Subject: waiting\n\nbody\n", "sendmail", "alice@example.test", "--data", mx.DataDir);
        Assert.True(queued.ExitCode == 0, queued.All);
        var id = QueuedAs().Match(queued.StdOut).Groups[1].Value;
        // A typo in securemx.json: serve refuses to start, and this is when the operator looks at the queue.
        var path = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken))!;
        cfg["limits"]!["maxRecipientz"] = 1;
        await File.WriteAllTextAsync(path, cfg.ToJsonString(), TestContext.Current.CancellationToken);

        var list = await mx.Cli("queue", "list");
        Assert.True(list.ExitCode == 0, list.All);
        Assert.Matches($@"{id}[^\n]*\n\s+alice@example\.test\s+queued\s+next: now\n", list.StdOut);
        Assert.DoesNotContain("expires:", list.StdOut);
        Assert.Contains("securemx: warning: expiry times not shown", list.StdErr);
        Assert.Contains("maxRecipientz", list.StdErr);

        var json = await mx.Cli("queue", "list", "--json");
        Assert.True(json.ExitCode == 0, json.All);
        using (var doc = JsonDocument.Parse(json.StdOut))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement[0].GetProperty("recipients")[0].GetProperty("expiresAt").ValueKind);
        }
        var show = await mx.Cli("queue", "show", id);
        Assert.True(show.ExitCode == 0, show.All);
        Assert.Contains("Subject: waiting", show.StdOut);
    }

    [Fact]
    public async Task QueueCommandsRefuseUnknownAndMalformedIds()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        var bad = await mx.Cli("queue", "show", "not-an-id");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("is not a queue id", bad.StdErr);
        var missing = await mx.Cli("queue", "delete", "0000000000000000");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("is not in the queue", missing.StdErr);
        var both = await mx.Cli("queue", "retry");
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--all", both.StdErr);
        Assert.Contains("0 recipient(s)", (await mx.Cli("queue", "retry", "--all")).StdOut);
    }

    [Fact]
    public async Task BounceFailsPendingRecipientsAndSendsTheSenderAFailureDsn()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"]);
        var newDir = mx.MaildirNew("alice@example.test");
        Directory.Delete(newDir);
        await File.WriteAllTextAsync(newDir, "in the way");
        await mx.StartAsync();

        var id = await SendAsync(mx, "give up on this", sender: "bob@example.test");
        await WaitForListAsync(mx, "deferred");
        var bounce = await mx.Cli("queue", "bounce", id);
        Assert.True(bounce.ExitCode == 0, bounce.All);
        Assert.Contains("DSN queued for <bob@example.test>", bounce.StdOut);

        var files = await mx.WaitForMessagesAsync("bob@example.test", 1);
        var dsn = MimeKit.MimeMessage.Load(files[0]);
        var report = Assert.IsType<MimeKit.MultipartReport>(dsn.Body);
        var group = Assert.IsType<MimeKit.MessageDeliveryStatus>(report[1]).StatusGroups[1];
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.0.0", group["Status"]);
        Assert.Contains("returned to the sender by the mail administrator", dsn.TextBody);
        Assert.Contains("Subject: give up on this", dsn.ToString());
        Assert.DoesNotContain(id, (await mx.Cli("queue", "list")).StdOut);
    }
}
