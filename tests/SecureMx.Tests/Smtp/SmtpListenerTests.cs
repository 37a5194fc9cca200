using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>The listener's own bookkeeping of the sessions it runs.</summary>
public sealed class SmtpListenerTests
{
    [Fact]
    public async Task ASessionThatEndsIsNoLongerTrackedAndOneStillRunningIs()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var open = await server.ConnectAsync();
        for (int i = 0; i < 20; i++)
        {
            await using var c = await server.ConnectAsync();
            await c.CommandAsync("QUIT", 221);
            await c.ExpectClosedAsync();
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Listener.SessionsRunning > 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(1, server.Listener.SessionsRunning);
        await open.CommandAsync("QUIT", 221);
        await open.ExpectClosedAsync();
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Listener.SessionsRunning > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, server.Listener.SessionsRunning);
    }

    [Fact]
    public async Task StopWithNoSessionOpenReturnsWithoutWaitingForTheGrace()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using (var c = await server.ConnectAsync())
        {
            await c.CommandAsync("QUIT", 221);
            await c.ExpectClosedAsync();
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Listener.SessionsRunning > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);

        // The count was zero before the stop: nothing else would ever end the wait but the grace.
        await server.Listener.StopAsync(TimeSpan.FromMinutes(10)).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task StopReturnsWhenTheLastSessionEndsNotWhenTheGraceIsOver()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var idle = await server.ConnectEhloAsync();
        await using var busy = await server.ConnectEhloAsync();
        await busy.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await busy.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await busy.CommandAsync("DATA", 354);

        var stop = server.Listener.StopAsync(TimeSpan.FromMinutes(10));
        await idle.ExpectAsync(421, "4.3.2");
        await idle.ExpectClosedAsync();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(stop.IsCompleted); // the transfer still runs
        await busy.SendAsync("Subject: last\r\n\r\nbody\r\n.\r\n");
        await busy.ExpectAsync(250, "2.0.0");
        await busy.ExpectAsync(421, "4.3.2");
        await stop.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(0, server.Listener.SessionsRunning);
    }

    [Fact]
    public async Task ATransferThatOutlastsTheGraceIsAbortedUnacknowledgedAndStopReturns()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var busy = await server.ConnectEhloAsync();
        await busy.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await busy.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await busy.CommandAsync("DATA", 354);
        await busy.SendAsync("Subject: never finished\r\n\r\n");

        await server.Listener.StopAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await busy.ExpectClosedAsync();
        Assert.Equal(0, server.Listener.SessionsRunning);
        Assert.Empty(server.Spool.Queue.AllMessageIds());
    }
}
