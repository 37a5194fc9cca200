using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Smtp;

/// <summary>swaks, a real SMTP client, sends to a running instance; the Maildir copy is compared byte for byte.</summary>
public sealed class SwaksDeliveryTests : IAsyncLifetime
{
    private SecureMxInstance _mx = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.True(Run.Exists("swaks"), "swaks is not installed: run scripts/install-test-deps.sh");
        _mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"]);
        await _mx.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _mx.StopAsync();
        await _mx.DisposeAsync();
    }

    // Dot-stuffing, 8-bit UTF-8 and a long line: everything that a careless server changes.
    private static byte[] TestMessage(string subject) => Encoding.UTF8.GetBytes(
        "From: Sender <sender@elsewhere.test>\r\n" +
        "To: alice@example.test\r\n" +
        $"Subject: {subject}\r\n" +
        "Message-ID: <" + Guid.NewGuid() + "@elsewhere.test>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        ".a line that starts with a dot\r\n" +
        "..two dots\r\n" +
        ".\tdot-tab\r\n" +
        "Grüße aus München — ünïcödé\r\n" +
        new string('x', 3000) + "\r\n" +
        "\r\n" +
        "last line");

    private async Task<ProcessResult> SwaksAsync(byte[] message, string to, params string[] extra)
    {
        var file = Path.Combine(_mx.DataDir, "swaks-" + Guid.NewGuid().ToString("N") + ".eml");
        await File.WriteAllBytesAsync(file, message);
        var args = new List<string> { "--server", Net.Text(_mx.Mx), "--from", "sender@elsewhere.test", "--to", to, "--data", file, "--ehlo", "client.elsewhere.test" };
        args.AddRange(extra);
        return await Run.ProcessAsync("swaks", args);
    }

    [Fact]
    public async Task PlainMessageIsStoredByteExactWithTraceHeaders()
    {
        var message = TestMessage("plain");
        var r = await SwaksAsync(message, "alice@example.test");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("250 2.0.0 Ok: queued as", r.StdOut);

        var files = await _mx.WaitForMessagesAsync("alice@example.test", 1);
        var (trace, original) = SecureMxInstance.SplitDelivered(await File.ReadAllBytesAsync(files[0]));
        // swaks ends the data itself with CRLF "." CRLF, so the stored message is the file plus its last CRLF.
        Assert.Equal(message.Concat("\r\n"u8.ToArray()).ToArray(), original);
        Assert.StartsWith("Return-Path: <sender@elsewhere.test>\r\nReceived: from client.elsewhere.test ([127.0.0.1])", trace);
        Assert.Contains("by mx.securemx.test (SecureMx) with ESMTP id ", trace);
        Assert.Contains("for <alice@example.test>;", trace);
        Assert.DoesNotContain("using TLS", trace);
    }

    [Fact]
    public async Task StartTlsMessageIsStoredByteExactAndReceivedNamesProtocolAndCipher()
    {
        var message = TestMessage("tls");
        var r = await SwaksAsync(message, "alice@example.test", "--tls");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("TLS started with cipher TLSv1.3", r.All);

        var files = await _mx.WaitForMessagesAsync("alice@example.test", 1);
        var (trace, original) = SecureMxInstance.SplitDelivered(await File.ReadAllBytesAsync(files[0]));
        Assert.Equal(message.Concat("\r\n"u8.ToArray()).ToArray(), original);
        Assert.Contains("(using TLSv1.3 with cipher TLS_", trace);
        Assert.Contains("with ESMTPS id ", trace);
    }

    [Fact]
    public async Task UnknownUserAndRelayAreRefusedWithEnhancedCodes()
    {
        var unknown = await SwaksAsync(TestMessage("x"), "nobody@example.test");
        Assert.Contains("550 5.1.1", unknown.All);
        var relay = await SwaksAsync(TestMessage("x"), "victim@elsewhere.test");
        Assert.Contains("554 5.7.1", relay.All);
        var percent = await SwaksAsync(TestMessage("x"), "victim%elsewhere.test@example.test");
        Assert.Contains("550 5.1.1", percent.All);
        Assert.Empty(_mx.Messages("alice@example.test"));
    }

    [Fact]
    public async Task MessageForTwoMailboxesIsDeliveredToEach()
    {
        var message = TestMessage("two");
        var r = await SwaksAsync(message, "alice@example.test,bob@example.test", "--tls");
        Assert.True(r.ExitCode == 0, r.All);
        var a = await _mx.WaitForMessagesAsync("alice@example.test", 1);
        var b = await _mx.WaitForMessagesAsync("bob@example.test", 1);
        var (traceA, originalA) = SecureMxInstance.SplitDelivered(await File.ReadAllBytesAsync(a[0]));
        var (traceB, originalB) = SecureMxInstance.SplitDelivered(await File.ReadAllBytesAsync(b[0]));
        Assert.Equal(originalA, originalB);
        Assert.Contains("for <alice@example.test>", traceA);
        Assert.Contains("for <bob@example.test>", traceB);
    }
}
