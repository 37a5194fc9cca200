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
}
