using System.Net;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>Listeners on IPv6: a specific address ([::1]) and dual-stack [::] (both families on one socket).</summary>
public sealed class SmtpListenerIpv6Tests
{
    private static readonly Func<Task<SmtpTestServer>> DualStack = () => SmtpTestServer.StartAsync(bind: new IPEndPoint(IPAddress.IPv6Any, 0));

    [Fact]
    public async Task ADualStackListenerTakesIpv4AndIpv6ClientsAndGreetsTheIpv4OneByItsIpv4Address()
    {
        await using var server = await DualStack();
        var port = server.Endpoint.Port;
        await using var v4 = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await v4.ExpectAsync(220);
        var hello4 = await v4.EhloAsync();
        Assert.Contains("[127.0.0.1]", hello4.Lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("::ffff:", hello4.Text, StringComparison.Ordinal);

        await using var v6 = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port));
        await v6.ExpectAsync(220);
        var hello6 = await v6.EhloAsync();
        Assert.Contains("[::1]", hello6.Lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIpv4ClientOfADualStackListenerSharesItsLimitWithTheSameClientOnAnIpv4Listener()
    {
        var limiter = new ConnectionLimiter(100, 1);
        await using var dual = await SmtpTestServer.StartAsync(limiter: limiter, bind: new IPEndPoint(IPAddress.IPv6Any, 0));
        await using var v4Only = await SmtpTestServer.StartAsync(limiter: limiter);
        await using var first = await v4Only.ConnectAsync();
        // The same 127.0.0.1, seen as ::ffff:127.0.0.1 on the dual-stack socket: its one slot is taken.
        await using var second = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, dual.Endpoint.Port));
        await second.ExpectAsync(421, "4.7.0");
    }

    [Fact]
    public async Task AnEhloWithAnIpv6AddressLiteralOverIpv6IsAcceptedAndRecorded()
    {
        await using var server = await SmtpTestServer.StartAsync(bind: new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal(IPAddress.IPv6Loopback, server.Endpoint.Address);
        await using var c = await RawSmtpClient.ConnectAsync(server.Endpoint);
        await c.ExpectAsync(220);
        await c.CommandAsync("EHLO [IPv6:::1]", 250);
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: v6\r\n\r\nhello\r\n"u8.ToArray());
        var client = server.Spool.Queue.Load(id)!.Value.Envelope.Client;
        Assert.Equal("[IPv6:::1]", client.Helo);
        Assert.Equal("::1", client.ClientIp);
    }
}
