using System.Text;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// Limits on time and connections, and shutdown behaviour: what needs a clock, several connections or
/// the server's stop. The error limit is in Dialogues/limits.
/// </summary>
public sealed class SmtpSessionLimitTests
{
    [Fact]
    public async Task IdleTimeoutIs421_4_4_2AndClose()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.CommandTimeoutSeconds = 1);
        await using var c = await server.ConnectEhloAsync();
        await c.ExpectAsync(421, "4.4.2", TimeSpan.FromSeconds(10));
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task IdleTimeoutAlsoAppliesBeforeEhlo()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.CommandTimeoutSeconds = 1);
        await using var c = await server.ConnectAsync();
        await c.ExpectAsync(421, "4.4.2", TimeSpan.FromSeconds(10));
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task ThirdConnectionFromTheSameAddressGets421_4_7_0()
    {
        await using var server = await SmtpTestServer.StartAsync(limiter: new ConnectionLimiter(100, 2));
        var first = await server.ConnectAsync();
        await using var second = await server.ConnectAsync();
        await using (var third = await server.ConnectAsync(readGreeting: false))
        {
            var reply = await third.ExpectAsync(421, "4.7.0");
            Assert.Contains("your address", reply.Text, StringComparison.Ordinal);
            await third.ExpectClosedAsync();
        }

        // When one session ends its slot is free again.
        await first.CommandAsync("QUIT", 221);
        await first.ExpectClosedAsync();
        await first.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await using var again = await server.ConnectAsync(readGreeting: false);
            var reply = await again.ReadReplyAsync();
            if (reply?.Code == 220) break;
            Assert.True(DateTime.UtcNow < deadline, "the slot of the closed session was never released");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        await second.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task ConnectionOverTheTotalLimitGets421_4_7_0()
    {
        await using var server = await SmtpTestServer.StartAsync(limiter: new ConnectionLimiter(1, 50));
        await using var first = await server.ConnectAsync();
        await using var second = await server.ConnectAsync(readGreeting: false);
        await second.ExpectAsync(421, "4.7.0");
        await second.ExpectClosedAsync();
        await first.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task WithNoRoomLeftANewConnectionWaitsUnansweredAndIsServedWhenOneCloses()
    {
        // No allowance for refusals: the one session is all the room there is, so the second is not even accepted.
        await using var server = await SmtpTestServer.StartAsync(limiter: new ConnectionLimiter(1, 50, refusalAllowance: 0));
        await using var first = await server.ConnectAsync();
        await using var second = await server.ConnectAsync(readGreeting: false);
        var greeting = second.ExpectAsync(220, timeout: TimeSpan.FromSeconds(20));
        Assert.NotSame(greeting, await Task.WhenAny(greeting, Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken)));
        Assert.Equal(1, server.Listener.SessionsRunning);

        await first.CommandAsync("QUIT", 221);
        await first.ExpectClosedAsync();
        await greeting;
        await second.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task OnTheImplicitTlsPortRefusalsWaitingForAHandshakeAreCappedTheRestClosedAtOnce()
    {
        // Room for one session and two refusals; a refusal waits up to 30 s for the ClientHello its 421 needs.
        await using var server = await SmtpTestServer.StartAsync(o => { o.Limits.TlsClientHelloTimeoutSeconds = 30; o.Limits.TlsHandshakeTimeoutSeconds = 30; },
            limiter: new ConnectionLimiter(1, 50, refusalAllowance: 2), listener: ListenerSettings.SubmissionImplicitTls);
        await using var session = await server.ConnectAsync(readGreeting: false);
        await using var politelyRefused = await server.ConnectAsync(readGreeting: false);
        var waiting = politelyRefused.ExpectClosedAsync(TimeSpan.FromSeconds(60));
        Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken)));

        // One refusal waits already (half the allowance): the next is closed without a handshake, well before 30 s.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using (var crowded = await server.ConnectAsync(readGreeting: false))
        {
            await crowded.ExpectClosedAsync(TimeSpan.FromSeconds(20));
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"closed after {clock.Elapsed}");
        Assert.False(waiting.IsCompleted);
    }

    [Fact]
    public async Task TheRoomIsTakenBeforeAnAcceptAndGivenBackWhenTheConnectionEnds()
    {
        var limiter = new ConnectionLimiter(1, 50, refusalAllowance: 1);
        Assert.True(limiter.TryEnter());
        Assert.True(limiter.TryEnter());
        Assert.False(limiter.TryEnter());
        using var cancel = new CancellationTokenSource();
        var waiting = limiter.EnterAsync(cancel.Token);
        Assert.False(waiting.IsCompleted);
        limiter.Leave();
        Assert.True(await waiting);
        var cancelled = limiter.EnterAsync(cancel.Token);
        await cancel.CancelAsync();
        Assert.False(await cancelled);
        limiter.Leave();
        limiter.Leave();
        Assert.True(limiter.TryEnter());
        Assert.Equal(1, limiter.MaxTotal);
        Assert.Equal(1, limiter.RefusalAllowance);
    }

    [Fact]
    public void LimiterCountsPerAddressAndReleases()
    {
        var limiter = new ConnectionLimiter(3, 2);
        var a = System.Net.IPAddress.Parse("192.0.2.1");
        var b = System.Net.IPAddress.Parse("192.0.2.2");
        Assert.Null(limiter.TryAcquire(a));
        Assert.Null(limiter.TryAcquire(a));
        Assert.Same(SmtpReply.TooManyConnectionsFromIp, limiter.TryAcquire(a));
        Assert.Null(limiter.TryAcquire(b));
        Assert.Same(SmtpReply.TooManyConnections, limiter.TryAcquire(b));
        Assert.Equal(3, limiter.Total);
        limiter.Release(a);
        Assert.Null(limiter.TryAcquire(b));
        limiter.Release(a);
        limiter.Release(b);
        limiter.Release(b);
        Assert.Equal(0, limiter.Total);
    }

    [Fact]
    public async Task ShutdownTellsIdleSessions421_4_3_2()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var stop = server.StopAsync();
        await c.ExpectAsync(421, "4.3.2");
        await c.ExpectClosedAsync();
        await stop;
    }

    [Fact]
    public async Task ShutdownLetsATransferInProgressFinishAndAcknowledgesIt()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: during shutdown\r\n\r\n");
        var stop = server.StopAsync();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(stop.IsCompleted);
        await c.SendAsync("last line\r\n.\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        await c.ExpectAsync(421, "4.3.2");
        await stop;
        Assert.Equal(Encoding.ASCII.GetBytes("Subject: during shutdown\r\n\r\nlast line\r\n"), server.ReadMessage(id));
        Assert.NotNull(server.Spool.Queue.Load(id));
    }
}
