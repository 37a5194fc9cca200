using System.Net;
using System.Net.Security;
using System.Text;
using SecureMx.Client;
using SecureMx.IntegrationTests.Support;
using SecureMx.Mail;

namespace SecureMx.IntegrationTests.Peers;

/// <summary>Our outbound SMTP client against a real Postfix receiver: STARTTLS, pipelining, per-recipient replies.</summary>
public sealed class PostfixReceiverTests
{
    [Fact]
    public async Task ClientNegotiatesTlsWithPostfixAndGetsOneReplyPerRecipient()
    {
        await using var postfix = await PostfixPeer.StartAsync("127.0.4.40:25", "sink-durable", tls: true, hostname: "sink.peer.test");
        var ct = TestContext.Current.CancellationToken;
        await using var client = await SmtpClientConnection.ConnectAsync(IPEndPoint.Parse("127.0.4.40:25"), "mx.securemx.test", IPAddress.Parse("127.0.4.41"), ct);
        Assert.True(client.Capabilities.StartTls);
        Assert.True(client.Capabilities.Pipelining);
        await client.StartTlsAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "sink.peer.test",
            RemoteCertificateValidationCallback = (_, _, _, _) => true, // opportunistic: encrypted, not verified
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        }, TlsVerification.Encrypted, ct);
        Assert.Equal("TLSv1.3", client.Tls!.Protocol);

        var message = "Subject: outbound\r\nFrom: a@securemx.test\r\n\r\n.dot line\r\nbody\r\n";
        var result = await client.SendAsync("a@securemx.test", new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            [new OutboundRecipient("user@bench.test", DsnNotify.Unspecified, null, null), new OutboundRecipient("victim@elsewhere.test", DsnNotify.Unspecified, null, null)],
            Encoding.ASCII.GetByteCount(message), () => new MemoryStream(Encoding.ASCII.GetBytes(message)), ct);
        await client.QuitAsync(ct);

        Assert.Equal(250, result.Mail.Code);
        Assert.Equal(250, result.Recipients[0].Code);
        Assert.True(result.Recipients[1].IsPermanent, result.Recipients[1].ToString());
        Assert.Equal("5.7.1", result.Recipients[1].Enhanced?.ToString());
        Assert.Equal(250, result.Data!.Code);
        var log = await postfix.WaitForLogAsync("discard", TimeSpan.FromSeconds(20));
        Assert.Matches(@"TLS connection established from \S+\[127\.0\.4\.41\]: TLSv1\.3 with cipher", log);
    }
}
