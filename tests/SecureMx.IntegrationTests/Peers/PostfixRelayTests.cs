using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Peers;

/// <summary>
/// Postfix, the MTA administrators know best, relays into SecureMx. Its own log says whether it
/// got TLS from us; our Received header says what we negotiated; the message must arrive intact.
/// </summary>
public sealed class PostfixRelayTests
{
    [Fact]
    public async Task PostfixRelaysIntoSecureMxOverStartTlsAndTheMessageArrivesIntact()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.StartAsync();
        await using var postfix = await PostfixPeer.StartAsync("127.0.4.30:25", "relay", relay: Net.Text(mx.Mx), hostname: "relay.peer.test");

        var token = Guid.NewGuid().ToString("N");
        var message = Encoding.UTF8.GetBytes(
            "From: Sender <sender@peer.test>\r\n" +
            "To: alice@example.test\r\n" +
            $"Subject: via postfix {token}\r\n" +
            $"Message-ID: <{token}@peer.test>\r\n" +
            "Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n" +
            ".leading dot survives two hops\r\n" +
            "Grüße\r\n" +
            "end");
        var file = Path.Combine(mx.DataDir, "postfix-in.eml");
        await File.WriteAllBytesAsync(file, message);
        var sent = await Run.ProcessAsync("swaks", ["--server", "127.0.4.30:25", "--from", "sender@peer.test", "--to", "alice@example.test", "--data", file]);
        Assert.True(sent.ExitCode == 0, sent.All);

        var files = await mx.WaitForMessagesAsync("alice@example.test", 1, TimeSpan.FromSeconds(60));
        var log = await postfix.WaitForLogAsync("status=sent", TimeSpan.FromSeconds(30));

        // Postfix's own witness: it negotiated TLS with us and handed the message over.
        Assert.Matches(@"TLS connection established to 127\.0\.3\.\d+\[127\.0\.3\.\d+\]:\d+: TLSv1\.3 with cipher", log);
        Assert.Matches(@"to=<alice@example\.test>, relay=127\.0\.3\.\d+\[127\.0\.3\.\d+\]:\d+.*status=sent \(250 2\.0\.0 Ok: queued as [0-9A-Z]{16}\)", log);

        var (trace, received) = SecureMxInstance.SplitDelivered(await File.ReadAllBytesAsync(files[0]));
        Assert.Contains("Received: from relay.peer.test ([127.0.0.1])", trace);
        Assert.Contains("(using TLSv1.3 with cipher TLS_", trace);
        Assert.Contains("with ESMTPS id", trace);

        // What we stored is Postfix's Received header followed by exactly what Postfix was given.
        var text = Encoding.UTF8.GetString(received);
        Assert.StartsWith("Received: from ", text);
        Assert.Contains("by relay.peer.test (Postfix) with ESMTP", text);
        var body = received.AsSpan(text.IndexOf("From: Sender", StringComparison.Ordinal)).ToArray();
        Assert.Equal(message.Concat("\r\n"u8.ToArray()).ToArray(), body);
    }
}
