using System.Text;
using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// A reload swaps limits.* as a whole section (Hosting/InstanceReloader); a session in progress keeps
/// the section it started with, so it never advertises one SIZE and enforces another.
/// </summary>
public sealed class SmtpSessionReloadedLimitsTests
{
    [Fact]
    public async Task ASessionKeepsTheLimitsItStartedWithWhenAReloadSwapsThem()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 1000);
        await using var old = await server.ConnectAsync();
        var ehlo = await old.EhloAsync();
        Assert.Contains("SIZE 1000", ehlo.Lines);

        server.Options.Limits = new LimitOptions { MaxMessageSize = 500 }; // what a reload does

        // The session that advertised 1000 still takes 1000, at MAIL and at the end of DATA.
        await old.CommandAsync("MAIL FROM:<sender@remote.example> SIZE=800", 250, "2.1.0");
        await old.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await old.CommandAsync("DATA", 354);
        var content = string.Concat(Enumerable.Repeat(new string('a', 78) + "\r\n", 10)); // 800 octets
        await old.SendAsync(content + ".\r\n");
        await old.ExpectAsync(250);

        // A new session gets the new section.
        await using var fresh = await server.ConnectAsync();
        Assert.Contains("SIZE 500", (await fresh.EhloAsync()).Lines);
        await fresh.CommandAsync("MAIL FROM:<sender@remote.example> SIZE=800", 552, "5.3.4");
        Assert.Equal(800, Encoding.ASCII.GetByteCount(content));
    }
}
