using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureMx.Client;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Client;

/// <summary>The client connection in LMTP mode (RFC 2033) against a scripted LMTP server, over TCP and a unix socket.</summary>
public sealed class SmtpClientConnectionLmtpTests
{
    private static readonly MailParameters SevenBit = new(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Func<Stream> Bytes(byte[] bytes) => () => new MemoryStream(bytes);

    private static OutboundRecipient To(string address) => new(address, DsnNotify.Unspecified, null, null);

    private static async Task<SmtpClientConnection> ConnectAsync(FakeLmtpServer server) =>
        await SmtpClientConnection.ConnectAsync(IPEndPoint.Parse(server.Target), "client.test", ClientProtocol.Lmtp, null, Ct);

    [Fact]
    public async Task LhloThenOneReplyPerAcceptedRecipientInRcptOrder()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.RcptReply = a => a == "bob@example.test" ? "550 5.1.1 <bob@example.test> User doesn't exist" : "250 2.1.5 OK";
        server.AfterData = a => a == "carol@example.test" ? "452 4.2.2 <carol@example.test> Mailbox is full" : $"250 2.0.0 <{a}> id Saved";
        await using var client = await ConnectAsync(server);
        Assert.Equal(ClientProtocol.Lmtp, client.Protocol);
        Assert.True(client.Capabilities.Pipelining);

        var result = await client.SendAsync("sender@remote.test", SevenBit,
            [To("alice@example.test"), To("bob@example.test"), To("carol@example.test")], 20, Bytes("Subject: x\r\n\r\nhi\r\n"u8.ToArray()), Ct);

        Assert.Equal([250, 550, 250], result.Recipients.Select(r => r.Code));
        Assert.Null(result.Data);
        Assert.Null(result.DataInterruption);
        // Two accepted recipients, two replies after the content, in RCPT order (bob, refused at RCPT, has none).
        Assert.Equal(["250 2.0.0 <alice@example.test> id Saved", "452 4.2.2 <carol@example.test> Mailbox is full"], result.RecipientData!.Select(r => r.ToString()));
        Assert.Equal(EnhancedStatus.Parse("4.2.2"), result.RecipientData![1].Enhanced);
        var t = Assert.Single(server.Transactions);
        Assert.Equal("LHLO client.test", t.Lhlo);
        Assert.Equal("MAIL FROM:<sender@remote.test>", t.Mail);
        // RFC 2920 via LMTP: MAIL, every RCPT and DATA in one write.
        Assert.Contains(server.Reads, read => read.SequenceEqual(["MAIL FROM:<sender@remote.test>",
            "RCPT TO:<alice@example.test>", "RCPT TO:<bob@example.test>", "RCPT TO:<carol@example.test>", "DATA"]));
        await client.QuitAsync(Ct);
    }

    [Fact]
    public async Task WithoutPipeliningEachCommandWaitsForItsReply()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Capabilities = ["ENHANCEDSTATUSCODES"];
        await using var client = await ConnectAsync(server);

        var result = await client.SendAsync("sender@remote.test", SevenBit, [To("alice@example.test"), To("bob@example.test")], 5, Bytes("x\r\n"u8.ToArray()), Ct);

        Assert.Equal([250, 250], result.RecipientData!.Select(r => r.Code));
        Assert.DoesNotContain(server.Reads, read => read.Count > 1 && read.Any(l => l.StartsWith("RCPT", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task TheContentIsDotStuffedByteForByte()
    {
        await using var server = FakeLmtpServer.StartTcp();
        await using var client = await ConnectAsync(server);
        // Leading dots, a line that is only a dot, a bare "..", 8-bit bytes, and no CRLF at the end.
        var content = Encoding.Latin1.GetBytes("Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmiddle.\r\n\xE9t\xE9\r\nlast line");

        var result = await client.SendAsync("sender@remote.test", SevenBit, [To("alice@example.test")], content.Length, Bytes(content), Ct);

        Assert.Equal(250, Assert.Single(result.RecipientData!).Code);
        var t = Assert.Single(server.Transactions);
        Assert.Equal(Encoding.Latin1.GetBytes("Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\nmiddle.\r\n\xE9t\xE9\r\nlast line\r\n.\r\n"), t.Wire);
        Assert.Equal([.. content, .. "\r\n"u8.ToArray()], t.Content);
    }

    [Fact]
    public async Task ARefusedDataCommandIsTheReplyOfEveryAcceptedRecipient()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.DataReply = "451 4.3.0 Temporary internal error";
        await using var client = await ConnectAsync(server);

        var result = await client.SendAsync("sender@remote.test", SevenBit, [To("alice@example.test")], 5, Bytes("x\r\n"u8.ToArray()), Ct);

        Assert.Equal(451, result.Data!.Code);
        Assert.Null(result.RecipientData);
        Assert.Empty(server.Transactions);
    }

    [Fact]
    public async Task ADroppedConnectionKeepsTheRepliesThatArrived()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.DropAfterDataReplies = 1;
        await using var client = await ConnectAsync(server);

        var result = await client.SendAsync("sender@remote.test", SevenBit, [To("alice@example.test"), To("bob@example.test")], 5, Bytes("x\r\n"u8.ToArray()), Ct);

        Assert.Equal("250 2.0.0 <alice@example.test> fake-id Saved", Assert.Single(result.RecipientData!).ToString());
        var interruption = Assert.IsType<SmtpClientException>(result.DataInterruption);
        Assert.Equal(EnhancedStatus.BadConnection, interruption.Reply.Enhanced);
    }

    [Fact]
    public async Task SpeaksLmtpOverAUnixDomainSocket()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("lmtp");
        await using var server = FakeLmtpServer.StartUnix(path);
        await using var client = await SmtpClientConnection.ConnectAsync(new UnixDomainSocketEndPoint(path), "client.test", ClientProtocol.Lmtp, null, Ct);
        Assert.IsType<UnixDomainSocketEndPoint>(client.Remote);

        var result = await client.SendAsync("sender@remote.test", SevenBit, [To("alice@example.test")], 5, Bytes("x\r\n"u8.ToArray()), Ct);

        Assert.Equal(250, Assert.Single(result.RecipientData!).Code);
        Assert.Equal("LHLO client.test", Assert.Single(server.Transactions).Lhlo);
    }

    [Fact]
    public async Task AServerThatRefusesLhloIsNotTalkedTo()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Greeting = "220 smtp.test ESMTP";
        server.LhloRefusal = "500 5.5.1 Unknown command";
        // A plain SMTP server: LHLO is an unknown command, and there is no HELO to fall back to.
        var ex = await Assert.ThrowsAsync<SmtpClientException>(async () =>
        {
            await using var c = await SmtpClientConnection.ConnectAsync(IPEndPoint.Parse(server.Target), "client.test", ClientProtocol.Lmtp, null, Ct);
            await c.CommandAsync("NOOP", Ct); // never reached
        });
        Assert.Equal("LHLO", ex.Stage);
    }
}
