using System.Net;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// Inbound over IPv6: a running SecureMx with its MX listener on [::1] or on dual-stack [::] takes mail
/// from a real Postfix relaying over IPv6, and (dual-stack) from swaks over IPv4 on the same port; the
/// Received header names each client as RFC 5321 §4.1.3 writes it ([IPv6:::1], [127.0.0.1]).
/// </summary>
public sealed class Ipv6InboundTests
{
    private static string Token() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The Received header SecureMx wrote on a delivered file, unfolded.</summary>
    private static string Received(byte[] delivered)
    {
        var (trace, _) = SecureMxInstance.SplitDelivered(delivered);
        return Regex.Replace(trace[trace.IndexOf("Received:", StringComparison.Ordinal)..], @"\r\n\t", " ").TrimEnd();
    }

    /// <summary>A Postfix relay (injected over IPv4) that hands everything to <paramref name="target"/> over IPv6.</summary>
    private static Task<PostfixPeer> RelayTo(IPEndPoint target) =>
        PostfixPeer.StartAsync(Net.Text(Net.FreeEndpoint()), "relay", relay: Net.Text(target), hostname: "relay.v6.test");

    [Fact]
    public async Task AnIpv6ListenerTakesMailFromPostfixOverIpv6AndTheReceivedHeaderSaysIPv6()
    {
        var listen = new IPEndPoint(IPAddress.IPv6Loopback, Net.FreeDualStackPort());
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], mx: listen);
        await mx.StartAsync();
        await using var relay = await RelayTo(listen);
        var token = Token();
        await relay.InjectAsync("sender@remote.test", "alice@example.test", token);
        var received = Received(await mx.WaitForMessageAsync("alice@example.test", token));
        TestContext.Current.TestOutputHelper?.WriteLine(received);
        Assert.StartsWith("Received: from relay.v6.test ([IPv6:::1]) (using TLSv1.3 with cipher ", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADualStackListenerTakesMailOverIpv6AndOverIpv4OnOnePort()
    {
        var port = Net.FreeDualStackPort();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], mx: new IPEndPoint(IPAddress.IPv6Any, port));
        var cfg = await File.ReadAllTextAsync(Path.Combine(mx.DataDir, "securemx.json"));
        Assert.Contains($"\"[::]:{port}\"", cfg, StringComparison.Ordinal);
        await mx.StartAsync();

        await using var relay = await RelayTo(new IPEndPoint(IPAddress.IPv6Loopback, port));
        var overV6 = Token();
        await relay.InjectAsync("sender@remote.test", "alice@example.test", overV6);

        var overV4 = Token();
        var swaks = await Run.ProcessAsync("swaks", ["--server", $"127.0.0.1:{port}", "--from", "sender@remote.test", "--to", "alice@example.test",
            "--helo", "[127.0.0.1]", "--header", $"Subject: test {overV4}", "--timeout", "30"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(swaks.ExitCode == 0, swaks.All);

        var v6 = Received(await mx.WaitForMessageAsync("alice@example.test", overV6));
        var v4 = Received(await mx.WaitForMessageAsync("alice@example.test", overV4));
        TestContext.Current.TestOutputHelper?.WriteLine(v6 + "\n" + v4);
        Assert.StartsWith("Received: from relay.v6.test ([IPv6:::1]) ", v6, StringComparison.Ordinal);
        // The IPv4 client of the dual-stack socket is 127.0.0.1, not ::ffff:127.0.0.1.
        Assert.StartsWith("Received: from [127.0.0.1] ([127.0.0.1]) by ", v4, StringComparison.Ordinal);
    }
}
