using System.Diagnostics;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// A client that does not speak TLS on an implicit-TLS listener (RFC 8314 §3.3) is let go within
/// limits.tlsClientHelloTimeoutSeconds, not after the whole handshake timeout, and the session log
/// says why in words an administrator recognises.
/// </summary>
public sealed class SmtpSessionImplicitTlsTests
{
    // The handshake timeout stays long: the test shows the connection ends long before it.
    private static Task<SmtpTestServer> ImplicitTlsServer() => SmtpTestServer.StartAsync(
        o => { o.Limits.TlsClientHelloTimeoutSeconds = 1; o.Limits.TlsHandshakeTimeoutSeconds = 30; },
        listener: ListenerSettings.SubmissionImplicitTls);

    private static string? EndReason(SmtpTestServer server) => server.Store.Database.Scalar("SELECT end_reason FROM inbound_sessions") as string;

    [Fact]
    public async Task APlaintextClientWaitingForAGreetingIsLetGoAfterTheClientHelloTimeout()
    {
        await using var server = await ImplicitTlsServer();
        var clock = Stopwatch.StartNew();
        await using (var c = await server.ConnectAsync(readGreeting: false))
        {
            await c.ExpectClosedAsync(TimeSpan.FromSeconds(20));
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"closed after {clock.Elapsed}, not before the 30 s handshake timeout");
        await server.StopAsync();
        Assert.Equal("no TLS ClientHello within 1 s on an implicit-TLS port (a plaintext client waiting for a greeting?)", EndReason(server));
    }

    [Fact]
    public async Task APlaintextClientThatSpeaksFirstIsClosedWithoutAnswer()
    {
        await using var server = await ImplicitTlsServer();
        await using (var c = await server.ConnectAsync(readGreeting: false))
        {
            await c.SendAsync("EHLO client.test\r\n");
            Assert.Null(await c.ReadLineAsync(TimeSpan.FromSeconds(20))); // nothing in plaintext, then the end
        }
        await server.StopAsync();
        Assert.Equal("client spoke plaintext on an implicit-TLS port", EndReason(server));
    }

    [Fact]
    public async Task AHandshakeThatStallsAfterItsFirstByteTimesOutWithThatReason()
    {
        await using var server = await SmtpTestServer.StartAsync(
            o => { o.Limits.TlsClientHelloTimeoutSeconds = 1; o.Limits.TlsHandshakeTimeoutSeconds = 1; },
            listener: ListenerSettings.SubmissionImplicitTls);
        await using (var c = await server.ConnectAsync(readGreeting: false))
        {
            await c.SendAsync([22, 3, 1]); // the start of a TLS handshake record, and then nothing
            await c.ExpectClosedAsync(TimeSpan.FromSeconds(20));
        }
        await server.StopAsync();
        Assert.Equal("TLS handshake timed out after 1 s", EndReason(server));
    }
}
