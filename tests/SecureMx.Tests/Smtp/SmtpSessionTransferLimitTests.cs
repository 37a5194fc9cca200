using System.Text;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// The time limits of one message transfer (DATA-phase slowloris): limits.maxTransferSeconds in all and,
/// after the first minute, limits.minTransferBytesPerSecond on average — for DATA and across the BDAT
/// chunks of one message. The session runs on a fake clock; the client is real, over a socket.
/// </summary>
public sealed class SmtpSessionTransferLimitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private static Task<SmtpTestServer> StartAsync(SteppingTimeProvider clock, int maxSeconds, int minRate) =>
        SmtpTestServer.StartAsync(o =>
        {
            o.Limits.MaxTransferSeconds = maxSeconds;
            o.Limits.MinTransferBytesPerSecond = minRate;
            o.Limits.DataTimeoutSeconds = 180;
        }, time: clock);

    private static async Task<RawSmtpClient> StartTransactionAsync(SmtpTestServer server)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        return c;
    }

    private static string? EndReason(SmtpTestServer server) =>
        server.Store.Database.Rows("SELECT end_reason FROM inbound_sessions", r => r.NullableString(0)).Single();

    private static async Task AssertCutAsync(SmtpTestServer server, RawSmtpClient c, string reason)
    {
        var reply = await c.ExpectAsync(421, "4.4.2");
        Assert.Contains(reason, reply.Text, StringComparison.Ordinal);
        await c.ExpectClosedAsync();
        await server.StopAsync();
        Assert.Empty(server.IncomingFiles()); // the partial file is gone
        Assert.Empty(server.DataFiles());
        Assert.Empty(server.Spool.Queue.AllMessageIds());
        Assert.Contains(reason, EndReason(server), StringComparison.Ordinal);
    }

    /// <summary>
    /// Waits (in real time) until the session's read timer is due at <paramref name="due"/> or later: the
    /// server has counted what was sent, and moving the clock cannot outrun its reads.
    /// </summary>
    private static async Task WaitForServerDeadlineAsync(SteppingTimeProvider clock, DateTimeOffset due)
    {
        var giveUp = DateTime.UtcNow.AddSeconds(10);
        while (clock.NextPending is not { } timer || timer.Due < due)
        {
            Assert.True(DateTime.UtcNow < giveUp, $"the server's deadline never reached {due:HH:mm:ss}: it did not count what was sent");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task DataDrippedBelowTheMinimumRateIsCutAfterTheFirstMinuteWith421_4_4_2()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 600, minRate: 1000);
        await using var c = await StartTransactionAsync(server);
        await c.CommandAsync("DATA", 354);
        // One byte every 4 s: never a stall of dataTimeoutSeconds, but 15 octets a minute.
        for (int i = 0; i < 14; i++)
        {
            await c.SendAsync("x");
            clock.Advance(TimeSpan.FromSeconds(4));
        }
        await c.SendAsync("x");
        clock.Advance(TimeSpan.FromSeconds(5)); // 61 s after the 354
        await AssertCutAsync(server, c, "too slow");
    }

    [Fact]
    public async Task SteadyTransferAboveTheMinimumRateLongerThanAMinuteIsAccepted()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 600, minRate: 1000);
        await using var c = await StartTransactionAsync(server);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: slow link\r\n\r\n");
        var line = new string('y', 1998) + "\r\n";
        long sent = 22;
        for (int i = 1; i <= 9; i++)
        {
            // 2 000 octets a second for 90 s: a slow link, not an attack.
            for (int j = 0; j < 10; j++) await c.SendAsync(line);
            sent += 10 * line.Length;
            // Its deadline: a minute, or 1 s per 1 000 octets, or the stall timeout from now, whichever comes first.
            var allowed = TimeSpan.FromSeconds(Math.Min(Math.Max(60, sent / 1000.0), (i - 1) * 10 + 180));
            await WaitForServerDeadlineAsync(clock, T0 + allowed);
            clock.MoveTo(T0 + TimeSpan.FromSeconds(i * 10));
        }
        await c.SendAsync(".\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(22 + 90 * 2000, server.ReadMessage(id).Length);
    }

    [Fact]
    public async Task DataLongerThanMaxTransferSecondsIsCutWith421_4_4_2()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 120, minRate: 0);
        await using var c = await StartTransactionAsync(server);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: long\r\n\r\n");
        clock.Advance(TimeSpan.FromSeconds(100));
        await c.SendAsync("still sending\r\n");
        clock.Advance(TimeSpan.FromSeconds(21));
        await AssertCutAsync(server, c, "longer than 120 s");
    }

    [Fact]
    public async Task BdatChunksOfOneMessageShareOneTimeLimit()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 120, minRate: 0);
        await using var c = await StartTransactionAsync(server);
        // Every chunk arrives whole and at once; only the message as a whole is slow.
        await c.SendAsync(B("BDAT 10\r\n0123456789"));
        await c.ExpectAsync(250, "2.0.0");
        clock.Advance(TimeSpan.FromSeconds(100));
        await c.SendAsync(B("BDAT 10\r\n0123456789"));
        await c.ExpectAsync(250, "2.0.0");
        clock.Advance(TimeSpan.FromSeconds(30));
        await c.SendAsync(B("BDAT 10\r\n0123456789"));
        await AssertCutAsync(server, c, "longer than 120 s");
    }

    [Fact]
    public async Task BdatChunkDrippedBelowTheMinimumRateIsCut()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 600, minRate: 1000);
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(B("BDAT 17\r\nSubject: drip\r\n\r\n"));
        await c.ExpectAsync(250, "2.0.0"); // the message's transfer began with its first chunk
        await c.SendAsync("BDAT 100000 LAST\r\nbody");
        clock.Advance(TimeSpan.FromSeconds(30));
        await c.SendAsync("x");
        clock.Advance(TimeSpan.FromSeconds(31));
        await AssertCutAsync(server, c, "too slow");
    }

    [Fact]
    public async Task ANewMessageGetsAFreshTimeLimit()
    {
        var clock = new SteppingTimeProvider(T0);
        await using var server = await StartAsync(clock, maxSeconds: 120, minRate: 0);
        await using var c = await server.ConnectEhloAsync();
        for (int i = 0; i < 3; i++)
        {
            // Three messages of 100 s each: each within the limit, together far beyond it.
            await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
            await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
            await c.CommandAsync("DATA", 354);
            await c.SendAsync("Subject: one of three\r\n\r\n");
            clock.Advance(TimeSpan.FromSeconds(100));
            await c.SendAsync("body\r\n.\r\n");
            await c.ExpectAsync(250, "2.0.0");
        }
        Assert.Equal(3, server.Arrivals.Ids.Count);
    }
}
