using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// `securemx backup` of a running server under load (20 SMTP sessions sending, the queue runner retrying
/// every second), then `securemx restore` into a fresh directory and a server started there: every
/// message acknowledged before the backup began is delivered by the restored instance.
/// </summary>
public sealed class BackupRestoreTests
{
    private const int Sessions = 20;

    [Fact]
    public async Task ABackupTakenUnderLoadRestoresToAnInstanceThatDeliversEverythingAcknowledgedBeforeIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var mx = await SecureMxInstance.CreateAsync(configure: cfg =>
        {
            var q = cfg["queue"]!.AsObject();
            q["retrySchedule"] = "1s";
            q["maxRetryInterval"] = "1s";
            q["retryJitter"] = 0;
        });
        // Delivery fails on the original (new/ is a file), so what was acknowledged stays queued, retried every second.
        var newDir = mx.MaildirNew("alice@example.test");
        Directory.Delete(newDir);
        await File.WriteAllTextAsync(newDir, "in the way", ct);
        await mx.StartAsync();

        var acknowledged = new ConcurrentBag<(string Token, DateTime At)>();
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, Sessions).Select(s => Task.Run(async () =>
        {
            await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO client.test");
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                var token = $"backup-load-{s}-{n}";
                Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
                Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
                Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
                // Every fourth message is above the inline limit: a spool data file.
                var body = new StringBuilder($"Subject: {token}\r\n\r\n");
                var size = n % 4 == 3 ? 300 * 1024 : 2 * 1024;
                while (body.Length < size) body.Append(new string('x', 76)).Append("\r\n");
                var reply = await smtp.CommandAsync(body + ".");
                Assert.StartsWith("250", reply);
                acknowledged.Add((token, DateTime.UtcNow));
            }
        })).ToArray();

        while (acknowledged.Count < 2 * Sessions) await Task.Delay(50, ct);
        var backup = Path.Combine(Path.GetTempPath(), "securemx-backup-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var began = DateTime.UtcNow;
            var taken = await Run.SecureMxAsync("backup", "--data", mx.DataDir, "--to", backup);
            Assert.True(taken.ExitCode == 0, taken.All);
            await Task.Delay(300, ct); // the load goes on after the backup too
            stop.Cancel();
            await Task.WhenAll(senders);
            var before = acknowledged.Where(a => a.At < began).Select(a => a.Token).ToList();
            Assert.NotEmpty(before);
            Assert.True(await mx.StopAsync() == 0, mx.Log);

            // A fresh directory: the original is gone (the Maildirs are restored from a file backup — here none arrived).
            var original = mx.DataDir + ".original";
            Directory.Move(mx.DataDir, original);
            try
            {
                var refused = await Run.SecureMxAsync("restore", "--from", backup, "--data", original);
                Assert.Equal(1, refused.ExitCode);
                Assert.Contains("--force", refused.StdErr);

                var restored = await Run.SecureMxAsync("restore", "--from", backup, "--data", mx.DataDir);
                Assert.True(restored.ExitCode == 0, restored.All);
                await mx.StartAsync();
                await mx.WaitForMessagesAsync("alice@example.test", before.Count, TimeSpan.FromSeconds(60));
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!(await mx.Cli("queue", "list")).StdOut.StartsWith("queue is empty", StringComparison.Ordinal))
                {
                    Assert.True(DateTime.UtcNow < deadline, "the restored queue did not drain:\n" + mx.Log);
                    await Task.Delay(200, ct);
                }
                var delivered = new HashSet<string>();
                foreach (var file in mx.Messages("alice@example.test"))
                {
                    using var reader = new StreamReader(file);
                    for (var line = await reader.ReadLineAsync(ct); !string.IsNullOrEmpty(line); line = await reader.ReadLineAsync(ct))
                        if (line.StartsWith("Subject: ", StringComparison.Ordinal)) delivered.Add(line["Subject: ".Length..]);
                }
                var lost = before.Where(t => !delivered.Contains(t)).ToList();
                Assert.True(lost.Count == 0, $"{lost.Count} of {before.Count} acknowledged before the backup not delivered: {string.Join(", ", lost.Take(10))}");
                // Nothing the backup did not hold, and nothing twice.
                Assert.Equal(mx.Messages("alice@example.test").Length, delivered.Count);
                Assert.Subset(acknowledged.Select(a => a.Token).ToHashSet(), delivered);
            }
            finally
            {
                Directory.Delete(original, recursive: true);
            }
        }
        finally
        {
            stop.Cancel();
            if (Directory.Exists(backup)) Directory.Delete(backup, recursive: true);
        }
    }
}
