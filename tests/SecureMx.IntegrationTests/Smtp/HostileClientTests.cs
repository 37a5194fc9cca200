using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Smtp;

/// <summary>A running server against a hostile client over a real socket: command injection by bare LF, DATA-phase slowloris.</summary>
public sealed class HostileClientTests
{
    [Fact]
    public async Task BareLfInACommandLineRefusesTheWholeLineAndRunsNothingBehindIt()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.StartAsync();
        await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
        await smtp.ReadReplyAsync();
        await smtp.CommandAsync("EHLO client.elsewhere.test");
        // What a front end that filters CRLF but not LF would let through: one line with a second command in it.
        await smtp.SendAsync("NOOP x\nMAIL FROM:<a@ext.test>\r\nRCPT TO:<alice@example.test>\r\n");
        Assert.StartsWith("500 5.5.2", (await smtp.ReadReplyAsync())[0]);
        Assert.StartsWith("503 5.5.1", (await smtp.ReadReplyAsync())[0]); // no MAIL ran: the RCPT has no transaction
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<a@ext.test>"));
        await smtp.SendAsync("RCPT TO:<a@x\nRCPT TO:<alice@example.test>\r\n");
        Assert.StartsWith("500 5.5.2", (await smtp.ReadReplyAsync())[0]);
        Assert.StartsWith("554 5.5.1", await smtp.CommandAsync("DATA")); // no recipient was added
        Assert.StartsWith("221", await smtp.CommandAsync("QUIT"));
    }

    [Fact]
    public async Task DataDrippedPastMaxTransferSecondsIsCutWith421AndLeavesNoFile()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"],
            configure: cfg => cfg["limits"]!["maxTransferSeconds"] = 3);
        await mx.StartAsync();
        await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
        await smtp.ReadReplyAsync();
        await smtp.CommandAsync("EHLO client.elsewhere.test");
        await smtp.CommandAsync("MAIL FROM:<a@ext.test>");
        await smtp.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        await smtp.SendAsync("Subject: slowloris\r\n\r\n");

        // One byte every 300 ms: far from a stall of limits.dataTimeoutSeconds, never an end.
        using var stop = new CancellationTokenSource();
        var started = DateTime.UtcNow;
        var drip = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await smtp.SendAsync("x");
                    await Task.Delay(300, stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // cut, or the test is over
            }
        });
        var reply = (await smtp.ReadReplyAsync(TimeSpan.FromSeconds(30)))[0];
        var elapsed = DateTime.UtcNow - started;
        await stop.CancelAsync();
        await drip;

        Assert.StartsWith("421 4.4.2", reply);
        Assert.Contains("took longer than 3 s", reply);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(20));
        // The server closes the connection after the partial file is gone.
        await Assert.ThrowsAnyAsync<IOException>(() => smtp.ReadReplyAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(Directory.GetFiles(Path.Combine(mx.DataDir, "spool", "incoming")));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!mx.Log.Contains("message transfer took longer than 3 s; closing connection") && DateTime.UtcNow < deadline) await Task.Delay(50);
        await mx.WaitForLogAsync("message transfer took longer than 3 s; closing connection");
        Assert.Empty(mx.Messages("alice@example.test"));
    }
}
