using System.Net;
using System.Net.Security;
using System.Text;
using SecureMx.Client;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Client;

/// <summary>Our SMTP client against our SMTP server (in process, real sockets): the two halves must agree byte for byte.</summary>
public sealed class SmtpClientConnectionTests
{
    private static readonly MailParameters Plain = new(null, BodyType.EightBitMime, false, DsnReturn.Headers, "ENV-42");

    private static SslClientAuthenticationOptions AcceptAnyCertificate() => new()
    {
        TargetHost = SmtpTestServer.Hostname,
        RemoteCertificateValidationCallback = (_, _, _, _) => true,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
    };

    private static Func<Stream> Bytes(string text) => () => new MemoryStream(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task RequireTlsIsSeenOnlyAfterStartTlsAndRelayedOnMailFrom()
    {
        await using var server = await SmtpTestServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", IPAddress.Loopback, ct);
        Assert.False(client.Capabilities.RequireTls);
        await client.StartTlsAsync(AcceptAnyCertificate(), TlsVerification.Encrypted, ct);
        Assert.True(client.Capabilities.RequireTls);

        const string message = "Subject: r\r\n\r\nx\r\n";
        var result = await client.SendAsync("sender@remote.test", Plain with { RequireTls = true },
            [new OutboundRecipient("alice@example.org", DsnNotify.Unspecified, null, null)], message.Length, Bytes(message), ct);

        Assert.Equal(250, result.Data!.Code);
        Assert.True(server.Spool.Queue.Load(server.Arrivals.Ids.Single())!.Value.Envelope.Parameters.RequireTls);
    }

    [Fact]
    public async Task RequireTlsIsNeverSentOutsideTls()
    {
        // The delivery rule never lets such a message reach a plaintext session; the client does not add the keyword there either.
        await using var server = await SmtpTestServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", IPAddress.Loopback, ct);
        const string message = "Subject: r\r\n\r\nx\r\n";
        var result = await client.SendAsync("sender@remote.test", Plain with { RequireTls = true },
            [new OutboundRecipient("alice@example.org", DsnNotify.Unspecified, null, null)], message.Length, Bytes(message), ct);
        Assert.Equal(250, result.Mail.Code); // a 530 5.7.10 had the keyword been sent
        Assert.False(server.Spool.Queue.Load(server.Arrivals.Ids.Single())!.Value.Envelope.Parameters.RequireTls);
    }

    [Fact]
    public async Task PipelinedTransactionReportsEachRecipientAndRelaysBytesAndDsnParameters()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", IPAddress.Loopback, TestContext.Current.CancellationToken);
        Assert.True(client.Capabilities.Pipelining);
        Assert.True(client.Capabilities.StartTls);
        Assert.True(client.Capabilities.Dsn);
        Assert.Equal(server.Options.Limits.MaxMessageSize, client.Capabilities.MaxSize);

        const string message = "Subject: hi\r\n\r\n.leading dot\r\nGrüße\r\n";
        var result = await client.SendAsync("sender@remote.test", Plain,
            [
                new OutboundRecipient("alice@example.org", DsnNotify.Failure | DsnNotify.Delay, "rfc822", "Original+Alice@example.org"),
                new OutboundRecipient("nobody@example.org", DsnNotify.Unspecified, null, null),
                new OutboundRecipient("bob@example.org", DsnNotify.Never, null, null),
            ], Encoding.UTF8.GetByteCount(message), Bytes(message), TestContext.Current.CancellationToken);

        Assert.Equal(250, result.Mail.Code);
        Assert.Equal([250, 550, 250], result.Recipients.Select(r => r.Code).ToArray());
        Assert.Equal(EnhancedStatus.BadDestinationMailbox, result.Recipients[1].Enhanced);
        Assert.NotNull(result.Data);
        Assert.Equal(250, result.Data!.Code);
        var id = server.Arrivals.Ids.Single();
        Assert.Equal(message, Encoding.UTF8.GetString(server.ReadMessage(id)));
        var (envelope, _) = server.Spool.Queue.Load(id)!.Value;
        Assert.Equal("ENV-42", envelope.Parameters.EnvId);
        Assert.Equal(DsnReturn.Headers, envelope.Parameters.Ret);
        Assert.Equal(BodyType.EightBitMime, envelope.Parameters.Body);
        var alice = envelope.Recipients.Single(r => r.Address == "alice@example.org");
        Assert.Equal("Original+Alice@example.org", alice.Orcpt);
        Assert.Equal(DsnNotify.Failure | DsnNotify.Delay, alice.Notify);
        Assert.Equal(DsnNotify.Never, envelope.Recipients.Single(r => r.Address == "bob@example.org").Notify);
        await client.QuitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AllRecipientsRefusedMeansNoDataIsSent()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", null, TestContext.Current.CancellationToken);
        var result = await client.SendAsync("sender@remote.test", Plain, [new OutboundRecipient("victim@elsewhere.test", DsnNotify.Unspecified, null, null)],
            10, Bytes("x\r\n"), TestContext.Current.CancellationToken);
        Assert.Equal(554, result.Recipients.Single().Code);
        Assert.Null(result.Data);
        Assert.Empty(server.Arrivals.Ids);
        // The connection is still usable for the next transaction.
        Assert.True(await client.ResetAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StartTlsRecordsProtocolAndCipherAndForgetsPreTlsCapabilities()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", null, TestContext.Current.CancellationToken);
        await client.StartTlsAsync(AcceptAnyCertificate(), TlsVerification.Encrypted, TestContext.Current.CancellationToken);
        Assert.NotNull(client.Tls);
        Assert.Equal("TLSv1.3", client.Tls!.Protocol);
        Assert.False(client.Capabilities.StartTls); // not offered again after TLS
        var result = await client.SendAsync("sender@remote.test", Plain, [new OutboundRecipient("alice@example.org", DsnNotify.Unspecified, null, null)],
            20, Bytes("Subject: tls\r\n\r\nbody"), TestContext.Current.CancellationToken);
        Assert.Equal(250, result.Data!.Code);
        var (envelope, _) = server.Spool.Queue.Load(server.Arrivals.Ids.Single())!.Value;
        Assert.Equal("ESMTPS", envelope.Client.Protocol);
        Assert.Equal("Subject: tls\r\n\r\nbody\r\n", Encoding.ASCII.GetString(server.ReadMessage(envelope.Id)));
    }

    [Fact]
    public async Task ServerWithoutTlsRefusesStartTlsWithItsReply()
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var client = await SmtpClientConnection.ConnectAsync(server.Endpoint, "client.test", null, TestContext.Current.CancellationToken);
        Assert.False(client.Capabilities.StartTls);
        var ex = await Assert.ThrowsAsync<SmtpClientException>(() => client.StartTlsAsync(AcceptAnyCertificate(), TlsVerification.Encrypted, TestContext.Current.CancellationToken));
        Assert.Equal(454, ex.Reply.Code);
    }
}
