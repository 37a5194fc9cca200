using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Smtp;

/// <summary>Behaviour of a running server that operators rely on: live changes and a clean stop.</summary>
public sealed class RunningServerTests
{
    [Fact]
    public async Task DomainAndMailboxAddedByCliAreAcceptedWithoutRestart()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.StartAsync();
        await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
        await smtp.ReadReplyAsync();
        await smtp.CommandAsync("EHLO client.test");
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@elsewhere.test>"));
        Assert.StartsWith("554 5.7.1", await smtp.CommandAsync("RCPT TO:<carol@new.test>"));

        await mx.CliOk("domain", "add", "new.test");
        Assert.StartsWith("550 5.1.1", await smtp.CommandAsync("RCPT TO:<carol@new.test>"));

        var r = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "carol@new.test", "--password-stdin", "--data", mx.DataDir);
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("250 2.1.5", await smtp.CommandAsync("RCPT TO:<Carol@NEW.test>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0", await smtp.CommandAsync("Subject: live\r\n\r\nhello\r\n."));
        await mx.WaitForMessagesAsync("carol@new.test", 1);
    }

    [Fact]
    public async Task SigtermStopsGracefullyWithExitCodeZeroAndTells421ToIdleSessions()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        await mx.StartAsync();
        await using var idle = await RawSmtp.ConnectAsync(mx.Mx);
        Assert.StartsWith("220 ", (await idle.ReadReplyAsync())[0]);
        var stop = mx.StopAsync();
        Assert.StartsWith("421 4.3.2", (await idle.ReadReplyAsync())[0]);
        Assert.Equal(0, await stop);
        await mx.WaitForLogAsync("all SMTP listeners stopped");
    }

    [Fact]
    public async Task MessageAcknowledgedJustBeforeSigtermIsDeliveredAfterRestart()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        await mx.StartAsync();
        await using (var smtp = await RawSmtp.ConnectAsync(mx.Mx))
        {
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO client.test");
            await smtp.CommandAsync("MAIL FROM:<a@elsewhere.test>");
            await smtp.CommandAsync("RCPT TO:<alice@example.test>");
            await smtp.CommandAsync("DATA");
            Assert.StartsWith("250 2.0.0", await smtp.CommandAsync("Subject: before stop\r\n\r\nbody\r\n."));
        }
        Assert.Equal(0, await mx.StopAsync());
        await mx.StartAsync();
        var files = await mx.WaitForMessagesAsync("alice@example.test", 1);
        Assert.Single(files);
    }
}
