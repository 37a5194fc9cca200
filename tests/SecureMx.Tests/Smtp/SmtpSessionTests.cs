using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>The SMTP command state machine (RFC 5321 §4.1, §4.3.2) over a real loopback socket.</summary>
public sealed class SmtpSessionTests
{
    [Fact]
    public async Task GreetingIs220WithHostNameAndNoEnhancedCode()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync(readGreeting: false);
        var greeting = await c.ExpectAsync(220);
        Assert.Equal("mx.test ESMTP SecureMx", greeting.Text);
    }

    [Fact]
    public async Task EhloAdvertisesTheSupportedExtensions()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 12345);
        await using var c = await server.ConnectAsync();
        var reply = await c.CommandAsync("EHLO client.test", 250);
        Assert.Equal("mx.test Hello client.test [127.0.0.1]", reply.Lines[0]);
        var keywords = reply.Lines.Skip(1).ToList();
        foreach (var k in new[] { "PIPELINING", "SIZE 12345", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "STARTTLS" })
        {
            Assert.Contains(k, keywords);
        }
        Assert.DoesNotContain(keywords, k => k.StartsWith("AUTH", StringComparison.Ordinal));
        Assert.DoesNotContain("BINARYMIME", keywords);
    }

    [Fact]
    public async Task WithoutCertificateStartTlsIsNotOfferedAndRefused454()
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var c = await server.ConnectAsync();
        var reply = await c.EhloAsync();
        Assert.DoesNotContain("STARTTLS", reply.Lines);
        await c.CommandAsync("STARTTLS", 454, "4.7.0");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task HeloGivesOneLineAndMailParametersNeedEhlo()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        var reply = await c.CommandAsync("HELO client.test", 250);
        Assert.Single(reply.Lines);
        await c.CommandAsync("MAIL FROM:<a@remote.example> SIZE=10", 555, "5.5.4");
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250, "2.1.0");
        await c.CommandAsync("RCPT TO:<alice@example.org> NOTIFY=NEVER", 555, "5.5.4");
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250, "2.1.5");
    }

    [Theory]
    [InlineData("EHLO")]
    [InlineData("EHLO ")]
    [InlineData("HELO")]
    [InlineData("EHLO two words")]
    public async Task HeloWithoutSingleNameIs501(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync(line, 501, "5.5.4");
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 503, "5.5.1");
    }

    [Fact]
    public async Task MailBeforeEhloIs503_5_5_1()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 503, "5.5.1");
    }

    [Fact]
    public async Task RcptBeforeMailIs503_5_5_1()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
    }

    [Fact]
    public async Task NestedMailIs503_5_5_1()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250, "2.1.0");
        await c.CommandAsync("MAIL FROM:<b@remote.example>", 503, "5.5.1");
    }

    [Fact]
    public async Task DataWithoutMailIs503()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("DATA", 503, "5.5.1");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task DataWithoutAcceptedRcptIs554_5_5_1AndExpectsNoContent()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<nobody@example.org>", 550, "5.1.1");
        await c.CommandAsync("DATA", 554, "5.5.1");
        await c.CommandAsync("NOOP", 250, "2.0.0"); // a command again, not message content
    }

    [Fact]
    public async Task DataWithArgumentIs501()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA now", 501, "5.5.4");
    }

    [Theory]
    [InlineData("XYZZY")]
    [InlineData("MAILFROM:<a@b>")]
    [InlineData("TURN")]
    [InlineData(" NOOP")]
    public async Task UnknownCommandIs500_5_5_2(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync(line, 500, "5.5.2");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task CommandsAreCaseInsensitive()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync("ehlo client.test", 250);
        await c.CommandAsync("mail from:<a@remote.example>", 250);
        await c.CommandAsync("rcpt to:<ALICE@EXAMPLE.ORG>", 250);
        await c.CommandAsync("rset", 250);
    }

    [Fact]
    public async Task CommandLineTooLongIs500_5_5_6AndSessionContinues()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("NOOP " + new string('x', 5000), 500, "5.5.6");
        await c.CommandAsync("NOOP", 250);
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
    }

    [Fact]
    public async Task HugeCommandLineWithoutLineEndIsDiscardedInPieces()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxCommandLineLength = 100);
        await using var c = await server.ConnectEhloAsync();
        for (int i = 0; i < 20; i++) await c.SendAsync(new string('y', 10_000));
        await c.SendAsync("\r\nNOOP\r\n");
        await c.ExpectAsync(500, "5.5.6");
        await c.ExpectAsync(250);
    }

    [Fact]
    public async Task CommandLineOfExactlyTheMaximumLengthIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxCommandLineLength = 64);
        await using var c = await server.ConnectEhloAsync();
        var line = "NOOP " + new string('z', 64 - 5);
        Assert.Equal(64, line.Length);
        await c.CommandAsync(line, 250);
        await c.CommandAsync(line + "z", 500, "5.5.6");
    }

    [Fact]
    public async Task CommandLineLongerThan1024OctetsWithinTheLimitIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("NOOP " + new string('q', 1500), 250);
        await c.CommandAsync("MAIL FROM:<" + new string('a', 64) + "@example.org> ENVID=" + new string('e', 100), 250);
    }

    [Fact]
    public async Task CommandLineOfMaximumLengthSplitBeforeTheLfIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxCommandLineLength = 64);
        await using var c = await server.ConnectEhloAsync();
        var line = "NOOP " + new string('z', 64 - 5);
        await c.SendAsync(line + "\r");
        await Task.Delay(200, TestContext.Current.CancellationToken);
        await c.SendAsync("\n");
        await c.ExpectAsync(250);
    }

    [Theory]
    [InlineData("NOOP\n")]
    [InlineData("NOOP\r\r\n")]
    [InlineData("NO\rOP\r\n")]
    [InlineData("NO\0OP\r\n")]
    public async Task BareLineEndingOrNulInCommandIsRefused500(string raw)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.SendAsync(raw);
        await c.ExpectAsync(500, "5.5.2");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task CommandEndingInBareLfIsNeverExecuted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        // "MAIL ...<LF>" is refused as a whole; the RCPT after it then has no transaction.
        await c.SendAsync("MAIL FROM:<a@remote.example>\nRCPT TO:<alice@example.org>\r\n");
        await c.ExpectAsync(500, "5.5.2");
        await c.ExpectAsync(503, "5.5.1");
    }

    [Fact]
    public async Task InvalidUtf8CommandIs500()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.SendAsync([(byte)'N', (byte)'O', (byte)'O', (byte)'P', (byte)' ', 0xC3, 0x28, 13, 10]);
        await c.ExpectAsync(500, "5.5.2");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task VrfyIs252AndNeverConfirmsAMailbox()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var known = await c.CommandAsync("VRFY alice@example.org", 252, "2.5.2");
        var unknown = await c.CommandAsync("VRFY nobody@example.org", 252, "2.5.2");
        Assert.Equal(known.Text, unknown.Text);
        await c.CommandAsync("VRFY", 501, "5.5.4");
    }

    [Fact]
    public async Task ExpnIs502()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("EXPN sales@example.org", 502, "5.5.1");
    }

    [Fact]
    public async Task AuthIs503OnThePort25Listener()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("AUTH PLAIN AGFsaWNlAHNlY3JldA==", 503, "5.5.1");
    }

    [Fact]
    public async Task NoopHelpAndRset()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync("NOOP", 250, "2.0.0");
        await c.CommandAsync("HELP", 214, "2.0.0");
        await c.CommandAsync("RSET", 250, "2.0.0");
        await c.CommandAsync("RSET now", 501, "5.5.4");
    }

    [Theory]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("POST /submit HTTP/1.0")]
    [InlineData("CONNECT mail.example.org:25 HTTP/1.1")]
    public async Task HttpRequestIs421AndClose(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.CommandAsync(line, 421, "4.7.0");
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task QuitIs221AndClose()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("QUIT", 221, "2.0.0");
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task RsetForgetsTheTransaction()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("RSET", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
    }

    [Fact]
    public async Task NewEhloIsAnImplicitReset()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.EhloAsync("again.test");
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
    }

    [Theory]
    [InlineData("MAIL FROM:<a@remote.example>")]
    [InlineData("MAIL FROM: <a@remote.example>")]
    [InlineData("MAIL FROM:<>")]
    [InlineData("MAIL FROM:<@relay.example:a@remote.example>")]
    [InlineData("MAIL FROM:<\"a b\"@remote.example>")]
    [InlineData("MAIL FROM:<a@[192.0.2.1]>")]
    public async Task AcceptedSenders(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync(line, 250, "2.1.0");
    }

    [Theory]
    [InlineData("MAIL FROM:a@remote.example", 501, "5.1.7")]
    [InlineData("MAIL FROM:<a@remote.example>junk", 501, "5.1.7")]
    [InlineData("MAIL FROM:<a@remote.example.>", 501, "5.1.7")]
    [InlineData("MAIL FROM:<a@b@remote.example>", 501, "5.1.7")]
    [InlineData("MAIL FROM:", 501, "5.5.4")]
    [InlineData("MAIL TO:<a@remote.example>", 501, "5.5.4")]
    [InlineData("MAIL FROM:<a@remote.example> FOO=BAR", 555, "5.5.4")]
    [InlineData("MAIL FROM:<a@remote.example> SIZE=x", 501, "5.5.4")]
    [InlineData("MAIL FROM:<jörg@remote.example>", 553, "5.6.7")]
    public async Task RefusedSenders(string line, int code, string enhanced)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync(line, code, enhanced);
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250); // no transaction was started
    }

    [Fact]
    public async Task Utf8SenderNeedsSmtpUtf8Parameter()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<jörg@bücher.example> SMTPUTF8", 250, "2.1.0");
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
    }

    [Theory]
    [InlineData("RCPT TO:<someone@gmail.example>", 554, "5.7.1")]
    [InlineData("RCPT TO:<alice%gmail.example@example.org>", 550, "5.1.1")]
    [InlineData("RCPT TO:<gmail.example!alice@example.org>", 550, "5.1.1")]
    [InlineData("RCPT TO:<\"alice@gmail.example\"@example.org>", 550, "5.1.1")]
    [InlineData("RCPT TO:<alice@[127.0.0.1]>", 554, "5.7.1")]
    [InlineData("RCPT TO:<alice@example.org.evil.test>", 554, "5.7.1")]
    [InlineData("RCPT TO:<@example.org:alice@gmail.example>", 554, "5.7.1")]
    [InlineData("RCPT TO:<nobody@example.org>", 550, "5.1.1")]
    [InlineData("RCPT TO:<alice@example.org.>", 501, "5.1.3")]
    [InlineData("RCPT TO:<>", 501, "5.1.3")]
    [InlineData("RCPT TO:alice@example.org", 501, "5.1.3")]
    [InlineData("RCPT TO:<jörg@example.org>", 553, "5.6.7")]
    [InlineData("RCPT TO:<alice@example.org> NOTIFY=BOGUS", 501, "5.5.4")]
    [InlineData("RCPT TO:<alice@example.org> FOO", 555, "5.5.4")]
    [InlineData("RCPT FROM:<alice@example.org>", 501, "5.5.4")]
    public async Task RefusedRecipients(string line, int code, string enhanced)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.CommandAsync(line, code, enhanced);
        await c.CommandAsync("DATA", 554, "5.5.1");
    }

    [Theory]
    [InlineData("RCPT TO:<alice@example.org>")]
    [InlineData("RCPT TO:<Alice+tag@Example.ORG>")]
    [InlineData("RCPT TO:<sales@example.org>")]
    [InlineData("RCPT TO:<postmaster@example.org>")]
    [InlineData("RCPT TO:<Postmaster>")]
    [InlineData("RCPT TO:<postmaster>")]
    [InlineData("RCPT TO: <carol@other.test>")]
    public async Task AcceptedRecipients(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        await c.CommandAsync(line, 250, "2.1.5");
    }
}
