using System.Net.Security;
using System.Security.Authentication;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// The secure MX listener, and inbound mandatory TLS per domain on every listener. Here the handshakes
/// and what the wire alone does not show; the rest is in Dialogues/mandatory-tls.
/// </summary>
public sealed class SmtpSessionMandatoryTlsTests
{
    private static Task<SmtpTestServer> SecureMx() => SmtpTestServer.StartAsync(listener: ListenerSettings.SecureMx("securemx.provider.test"));

    [Fact]
    public async Task SecureMxGreetsWithItsOwnNameAndTakesMailAfterStrictTls()
    {
        await using var server = await SecureMx();
        await using var c = await server.ConnectAsync(readGreeting: false);
        Assert.StartsWith("securemx.provider.test ESMTP", (await c.ExpectAsync(220)).Lines[0]);
        await c.EhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        Assert.Contains("securemx.provider.test Hello", (await c.EhloAsync()).Lines[0]);
        var id = await c.SendMessageAsync("a@remote.example", ["alice@example.org"], "x\r\n"u8.ToArray());
        Assert.True(server.Spool.Queue.Load(id)!.Value.Envelope.Client.Tls!.IsStrict);
        Assert.Equal("secureMx", server.Spool.Queue.Load(id)!.Value.Envelope.Client.Listener);
    }

    [Fact]
    public async Task SecureMxRefusesTls11AndCbcCiphers()
    {
        await using var server = await SecureMx();
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("STARTTLS", 220);
#pragma warning disable SYSLIB0039, CA5397 // offering an old protocol is the point
            await Assert.ThrowsAnyAsync<Exception>(() => c.UpgradeToTlsAsync(SslProtocols.Tls11));
#pragma warning restore SYSLIB0039, CA5397
        }
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("STARTTLS", 220);
            await Assert.ThrowsAnyAsync<Exception>(() => c.UpgradeToTlsAsync(SslProtocols.Tls12,
                [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384]));
        }
    }

    [Fact]
    public async Task AMandatoryDomainRefusesATls12SessionWithACbcCipher()
    {
        await using var server = await SmtpTestServer.StartAsync();
        server.Store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync(SslProtocols.Tls12, [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256]);
        await c.EhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        var refused = await c.CommandAsync("RCPT TO:<alice@example.org>", 550, "5.7.1");
        Assert.Contains("TLSv1.2 with TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256. Use TLS 1.2 or newer with ECDHE and AES-GCM or ChaCha20-Poly1305", refused.Text);
        Assert.DoesNotContain("STARTTLS", refused.Text);
    }

    [Fact]
    public async Task TheRefusalIsInTheSessionLog()
    {
        await using var server = await SmtpTestServer.StartAsync();
        server.Store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
            await c.CommandAsync("RCPT TO:<alice@example.org>", 550);
            await c.CommandAsync("QUIT", 221);
        }
        await server.StopAsync();
        var (domain, accepted, reply) = server.Store.Database.Rows("SELECT recipient_domain, accepted, reply FROM inbound_recipients",
            r => (r.GetString(0), r.GetInt64(1), r.GetString(2))).First();
        Assert.Equal("example.org", domain);
        Assert.Equal(0, accepted);
        Assert.StartsWith("550 5.7.1", reply);
    }
}
