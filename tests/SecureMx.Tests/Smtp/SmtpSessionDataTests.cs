using System.Text;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>DATA over a real socket: byte-exact storage, dot-unstuffing, smuggling, limits, and the committed envelope.</summary>
public sealed class SmtpSessionDataTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private static async Task AssertNothingCommittedAsync(SmtpTestServer server)
    {
        await server.StopAsync(); // sessions ended: every uncommitted data file has been removed
        Assert.Empty(server.DataFiles());
        Assert.Empty(server.Spool.Queue.AllMessageIds());
        Assert.Empty(server.Arrivals.Ids);
    }

    [Fact]
    public async Task PipelinedTransactionGetsItsRepliesInOrder()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.SendAsync(
            "MAIL FROM:<sender@remote.example>\r\n" +
            "RCPT TO:<alice@example.org>\r\n" +
            "RCPT TO:<nobody@example.org>\r\n" +
            "RCPT TO:<sales@example.org>\r\n" +
            "DATA\r\n");
        await c.ExpectAsync(250, "2.1.0");
        await c.ExpectAsync(250, "2.1.5");
        await c.ExpectAsync(550, "5.1.1");
        await c.ExpectAsync(250, "2.1.5");
        await c.ExpectAsync(354);
        await c.SendAsync("Subject: pipelined\r\n\r\nhi\r\n.\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));

        var (env, _) = server.Spool.Queue.Load(id)!.Value;
        // sales -> alice, bob; alice named twice is delivered once.
        Assert.Equal(["alice@example.org", "bob@example.org"], env.Recipients.Select(r => r.Address));
        Assert.Equal(["alice@example.org", "sales@example.org"], env.Recipients.Select(r => r.OriginalAddress));
        Assert.Equal([id], server.Arrivals.Ids);
    }

    [Fact]
    public async Task MessageBytesAreStoredExactly()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var content = B("From: <sender@remote.example>\r\nSubject: =?utf-8?q?t=C3=A9st?=\r\n\r\n" +
                        "tab\there\r\n\r\n  leading spaces\r\n" + new string('x', 20_000) + "\r\n" +
                        "8bit: \u00e9\u00fc\u00ff and NUL \0 and DEL \u007f\r\n" +
                        "trailing spaces   \r\n");
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], content);
        Assert.True(MessageId.IsValid(id));
        Assert.Equal(content, server.ReadMessage(id));
        Assert.Equal(content.Length, server.Spool.Queue.Load(id)!.Value.Envelope.Size);
    }

    [Fact]
    public async Task DotStuffedLinesAreStoredUnstuffed()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"],
            B("Subject: dots\r\n\r\n..\r\n..one\r\n...\r\nx.\r\n .\r\n"));
        Assert.Equal("Subject: dots\r\n\r\n.\r\n.one\r\n..\r\nx.\r\n .\r\n", Encoding.Latin1.GetString(server.ReadMessage(id)));
    }

    [Fact]
    public async Task EmptyMessageIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], []);
        Assert.Empty(server.ReadMessage(id));
    }

    [Fact]
    public async Task ContentSentInTinyPiecesIsStoredExactly()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        var wire = B("Subject: slow\r\n\r\n..a\r\nb\r\n.\r\n");
        foreach (var b in wire) await c.SendAsync([b]);
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal("Subject: slow\r\n\r\n.a\r\nb\r\n", Encoding.Latin1.GetString(server.ReadMessage(id)));
    }

    [Fact]
    public async Task CommandsPipelinedAfterTheEndMarkerAreExecuted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        await c.ExpectAsync(250, "2.0.0");
        await c.ExpectAsync(221, "2.0.0");
        await c.ExpectClosedAsync();
        Assert.Equal("Subject: x\r\n\r\nbody\r\n", Encoding.Latin1.GetString(server.ReadMessage(id)));
    }

    [Fact]
    public async Task SeveralMessagesInOneSession()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var a = await c.SendMessageAsync("s@remote.example", ["alice@example.org"], B("Subject: 1\r\n\r\none\r\n"));
        var b = await c.SendMessageAsync("s@remote.example", ["bob@example.org"], B("Subject: 2\r\n\r\ntwo\r\n"));
        Assert.NotEqual(a, b);
        Assert.Equal([a, b], server.Arrivals.Ids);
        Assert.Equal("bob@example.org", Assert.Single(server.Spool.Queue.Load(b)!.Value.Envelope.Recipients).Address);
    }

    [Fact]
    public async Task BareLfInDataIs554_5_6_0AndNothingIsCommitted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: x\r\n\r\nline one\nline two\r\n.\r\n");
        await c.ExpectAsync(554, "5.6.0");
        // The session continues, the transaction is gone.
        await c.CommandAsync("NOOP", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task BareCrInDataIs554_5_6_0()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: x\r\n\r\nover\rwrite\r\n.\r\n");
        await c.ExpectAsync(554, "5.6.0");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task AfterRefusedBareLfMessageTheNextTransactionWorks()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("bad\n\r\n.\r\n");
        await c.ExpectAsync(554, "5.6.0");
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], B("good\r\n"));
        Assert.Equal(B("good\r\n"), server.ReadMessage(id));
        Assert.Equal([id], server.Arrivals.Ids);
    }

    [Fact]
    public async Task ThirdMessageWithABareLineEndingInOneSessionCloses421_4_7_0()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        for (int i = 1; i <= 3; i++)
        {
            await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
            await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
            await c.CommandAsync("DATA", 354);
            await c.SendAsync("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<a@b.test>\r\n.\r\n");
            await c.ExpectAsync(554, "5.6.0");
        }
        await c.ExpectAsync(421, "4.7.0");
        await c.ExpectClosedAsync();
        await AssertNothingCommittedAsync(server);
    }

    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    [InlineData("\r.\r\n")]
    [InlineData("\r\n.\r")]
    [InlineData("\r.\r")]
    public async Task SmuggledEndOfDataStaysContentAndTheSmuggledCommandsNeverRun(string marker)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: hello\r\n\r\nhello" + marker +
                          "MAIL FROM:<ceo@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" +
                          "Subject: smuggled\r\n\r\nevil\r\n.\r\n");
        // Exactly one reply for the whole content: the message is refused, no 250 for the smuggled MAIL.
        await c.ExpectAsync(554, "5.6.0");
        await c.CommandAsync("NOOP", 250, "2.0.0");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task MessageOverTheSizeLimitIs552AfterTheDataAndTheSessionContinues()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 1000);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        for (int i = 0; i < 100; i++) await c.SendAsync(new string('a', 98) + "\r\n");
        await c.SendAsync(".\r\n");
        await c.ExpectAsync(552, "5.3.4");
        await c.CommandAsync("NOOP", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task MessageOfExactlyTheSizeLimitIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 1000);
        await using var c = await server.ConnectEhloAsync();
        var content = B(string.Concat(Enumerable.Repeat(new string('b', 98) + "\r\n", 10)));
        Assert.Equal(1000, content.Length);
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], content);
        Assert.Equal(content, server.ReadMessage(id));
    }

    [Fact]
    public async Task DotStuffingDoesNotCountTowardsTheSize()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 11);
        await using var c = await server.ConnectEhloAsync();
        // 14 octets on the wire, 11 after unstuffing.
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], B("..a\r\n..b\r\n..\r\n"));
        Assert.Equal(B(".a\r\n.b\r\n.\r\n"), server.ReadMessage(id));
    }

    [Fact]
    public async Task SizeParameterOverTheLimitIsRefusedAtMail()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 1000);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example> SIZE=1001", 552, "5.3.4");
        await c.CommandAsync("MAIL FROM:<sender@remote.example> SIZE=1000", 250, "2.1.0");
    }

    [Fact]
    public async Task TooManyRecipientsIs452_4_5_3AndTheOthersStillGetTheMessage()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxRecipients = 2);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<nobody@example.org>", 550, "5.1.1"); // refused ones do not count
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<bob@example.org>", 250);
        await c.CommandAsync("RCPT TO:<carol@other.test>", 452, "4.5.3");
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: x\r\n\r\nx\r\n.\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(["alice@example.org", "bob@example.org"], server.Spool.Queue.Load(id)!.Value.Envelope.Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task CommittedEnvelopeHasSenderRecipientsAndDsnParameters()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync("client.remote.example");
        await c.CommandAsync("MAIL FROM:<sender@remote.example> BODY=8BITMIME RET=HDRS ENVID=QQ+2B314", 250);
        await c.CommandAsync("RCPT TO:<Alice+tag@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+2Btag@example.org", 250);
        await c.CommandAsync("RCPT TO:<bob@example.org> NOTIFY=NEVER", 250);
        await c.CommandAsync("RCPT TO:<carol@other.test>", 250);
        await c.CommandAsync("DATA", 354);
        var content = B("Subject: dsn\r\n\r\nbody\r\n");
        await c.SendAsync(content);
        await c.SendAsync(".\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));

        var (env, rows) = server.Spool.Queue.Load(id)!.Value;
        Assert.Equal(id, env.Id);
        Assert.Equal("sender@remote.example", env.Sender);
        Assert.Equal(content.Length, env.Size);
        Assert.Equal(BodyType.EightBitMime, env.Parameters.Body);
        Assert.Equal(DsnReturn.Headers, env.Parameters.Ret);
        Assert.Equal("QQ+314", env.Parameters.EnvId);
        Assert.False(env.Parameters.SmtpUtf8);
        Assert.Equal("mx", env.Client.Listener);
        Assert.Equal("127.0.0.1", env.Client.ClientIp);
        Assert.Equal("client.remote.example", env.Client.Helo);
        Assert.Equal("ESMTP", env.Client.Protocol);
        Assert.Null(env.Client.Tls);

        Assert.Equal(3, env.Recipients.Count);
        var alice = env.Recipients[0];
        Assert.Equal("alice@example.org", alice.Address);
        Assert.Equal("Alice+tag@example.org", alice.OriginalAddress);
        Assert.Equal(RecipientRoute.Local, alice.Route);
        Assert.Equal(Path.Combine("mail", "example.org", "alice"), alice.Maildir);
        Assert.Equal(DsnNotify.Success | DsnNotify.Failure, alice.Notify);
        Assert.Equal("rfc822", alice.OrcptType);
        Assert.Equal("Alice+tag@example.org", alice.Orcpt);
        var bob = env.Recipients[1];
        Assert.Equal(DsnNotify.Never, bob.Notify);
        Assert.Null(bob.OrcptType);
        Assert.Null(bob.Orcpt);
        var carol = env.Recipients[2];
        Assert.Equal(DsnNotify.Unspecified, carol.Notify);
        Assert.Equal(Path.Combine("mail", "other.test", "carol"), carol.Maildir);
        Assert.All(rows, r => Assert.Equal(RecipientState.Queued, r.State));
    }

    [Fact]
    public async Task NullSenderIsKeptForBounces()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var id = await c.SendMessageAsync("", ["alice@example.org"], B("Subject: bounce\r\n\r\nx\r\n"));
        Assert.Equal("", server.Spool.Queue.Load(id)!.Value.Envelope.Sender);
    }

    [Fact]
    public async Task SmtpUtf8MessageIsRecordedAsUtf8Smtp()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<jörg@bücher.example> SMTPUTF8", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: ü\r\n\r\nx\r\n.\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        var env = server.Spool.Queue.Load(id)!.Value.Envelope;
        Assert.Equal("jörg@xn--bcher-kva.example", env.Sender);
        Assert.True(env.Parameters.SmtpUtf8);
        Assert.Equal("UTF8SMTP", env.Client.Protocol);
    }

    [Fact]
    public async Task HeloSessionIsRecordedAsSmtp()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync("HELO old.client.test", 250);
        var id = await c.SendMessageAsync("s@remote.example", ["alice@example.org"], B("x\r\n"));
        var env = server.Spool.Queue.Load(id)!.Value.Envelope;
        Assert.Equal("SMTP", env.Client.Protocol);
        Assert.Equal("old.client.test", env.Client.Helo);
    }

    [Fact]
    public async Task StalledDataTransferIs421_4_4_2AndNothingIsCommitted()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.DataTimeoutSeconds = 1);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: stalled\r\n\r\npart");
        await c.ExpectAsync(421, "4.4.2");
        await c.ExpectClosedAsync();
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task ClientVanishingDuringDataLeavesNothingBehind()
    {
        await using var server = await SmtpTestServer.StartAsync();
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: cut\r\n\r\n" + new string('z', 100_000));
        await c.DisposeAsync();
        await AssertNothingCommittedAsync(server);
    }
}
