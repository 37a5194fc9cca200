using System.Text;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>Submission listeners: TLS first, then AUTH, then mail only as oneself — to anywhere.</summary>
public sealed class SmtpSessionAuthTests
{
    private const string Alice = "alice@example.org";
    private const string Password = SmtpTestServer.Password;

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
    private static string Plain(string user, string password, string authz = "") => B64($"{authz}\0{user}\0{password}");

    private static Task<SmtpTestServer> Submission(Action<SecureMxOptions>? configure = null, ListenerSettings? listener = null) =>
        SmtpTestServer.StartAsync(o =>
        {
            o.Auth.FailureDelay = "0s";
            configure?.Invoke(o);
        }, listener: listener ?? ListenerSettings.SubmissionStartTls);

    /// <summary>Connect, STARTTLS, EHLO again: a submission client before AUTH.</summary>
    private static async Task<RawSmtpClient> TlsClientAsync(SmtpTestServer server)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        await c.EhloAsync();
        return c;
    }

    private static async Task<RawSmtpClient> LoggedInAsync(SmtpTestServer server, string user = Alice)
    {
        var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(user, Password), 235, "2.7.0");
        return c;
    }

    [Fact]
    public async Task BeforeStartTlsEhloOffersStartTlsButNoAuth()
    {
        await using var server = await Submission();
        await using var c = await server.ConnectAsync();
        var ehlo = await c.EhloAsync();
        Assert.Contains("STARTTLS", ehlo.Lines);
        Assert.DoesNotContain(ehlo.Lines, l => l.StartsWith("AUTH", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("AUTH PLAIN")]
    [InlineData("MAIL FROM:<alice@example.org>")]
    [InlineData("RCPT TO:<alice@example.org>")]
    [InlineData("DATA")]
    [InlineData("VRFY alice")]
    public async Task BeforeStartTlsEverythingButEhloAndStartTlsGets530(string command)
    {
        await using var server = await Submission();
        await using var c = await server.ConnectEhloAsync();
        var reply = await c.CommandAsync(command, 530, "5.7.0");
        Assert.Contains("STARTTLS", reply.Text);
    }

    [Fact]
    public async Task AfterStartTlsEhloOffersPlainAndLogin()
    {
        await using var server = await Submission();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        var ehlo = await c.EhloAsync();
        Assert.Contains("AUTH PLAIN LOGIN", ehlo.Lines);
        Assert.DoesNotContain("STARTTLS", ehlo.Lines);
    }

    [Fact]
    public async Task ImplicitTlsListenerOffersAuthAtOnceAndAcceptsMail()
    {
        await using var server = await Submission(listener: ListenerSettings.SubmissionImplicitTls);
        await using var c = await server.ConnectImplicitTlsEhloAsync();
        var ehlo = await c.EhloAsync();
        Assert.Contains("AUTH PLAIN LOGIN", ehlo.Lines);
        Assert.DoesNotContain("STARTTLS", ehlo.Lines);
        Assert.True(TlsGrading.IsStrictSuite(NegotiatedTls.ProtocolName(c.Tls!.SslProtocol), c.Tls.NegotiatedCipherSuite.ToString()));
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 235, "2.7.0");
        var id = await c.SendMessageAsync(Alice, ["friend@elsewhere.example"], "From: alice@example.org\r\n\r\nhi\r\n"u8.ToArray());
        Assert.Equal("submissions", server.Spool.Queue.Load(id)!.Value.Envelope.Client.Listener);
    }

    [Fact]
    public async Task LoggedInClientMaySendToAnyDomainAndTheAccountTravelsWithTheMessage()
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        var id = await c.SendMessageAsync(Alice, ["friend@elsewhere.example", "bob@example.org"],
            "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nhello\r\n"u8.ToArray());
        var envelope = server.Spool.Queue.Load(id)!.Value.Envelope;
        Assert.Equal(Alice, envelope.Client.Account);
        Assert.Equal("ESMTPSA", envelope.Client.Protocol);
        Assert.Equal(RecipientRoute.Remote, envelope.Recipients.Single(r => r.Address == "friend@elsewhere.example").Route);
        Assert.Equal(RecipientRoute.Local, envelope.Recipients.Single(r => r.Address == "bob@example.org").Route);
    }

    [Fact]
    public async Task LoggedInClientStillGetsUserUnknownForHostedDomains()
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<nobody@example.org>", 550, "5.1.1");
        await c.CommandAsync("RCPT TO:<someone@[192.0.2.1]>", 554, "5.7.1");
    }

    [Fact]
    public async Task AuthPlainWithoutInitialResponseAsksForIt()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        var challenge = await c.CommandAsync("AUTH PLAIN", 334);
        Assert.Equal("", challenge.Lines.Single().Trim());
        await c.CommandAsync(Plain(Alice, Password), 235, "2.7.0");
    }

    [Fact]
    public async Task AuthLoginAsksForNameThenPassword()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        Assert.Equal("VXNlcm5hbWU6", (await c.CommandAsync("AUTH LOGIN", 334)).Lines.Single());
        Assert.Equal("UGFzc3dvcmQ6", (await c.CommandAsync(B64(Alice), 334)).Lines.Single());
        await c.CommandAsync(B64(Password), 235, "2.7.0");
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
    }

    [Fact]
    public async Task AuthLoginAcceptsTheNameAsInitialResponse()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH LOGIN " + B64("Alice@Example.org"), 334);
        await c.CommandAsync(B64(Password), 235, "2.7.0");
    }

    [Fact]
    public async Task WrongPasswordAndUnknownAccountGetTheSameReply()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        var wrong = await c.CommandAsync("AUTH PLAIN " + Plain(Alice, "not-the-password"), 535, "5.7.8");
        var unknown = await c.CommandAsync("AUTH PLAIN " + Plain("nobody@example.org", Password), 535, "5.7.8");
        Assert.Equal(wrong.Text, unknown.Text);
    }

    [Fact]
    public async Task ThirdFailedLoginInOneSessionClosesIt()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, "wrong-1"), 535);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, "wrong-2"), 535);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, "wrong-3"), 535);
        await c.ExpectAsync(421, "4.7.0");
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task AfterTooManyFailuresForAnAccountEvenTheRightPasswordIsRefusedTemporarily()
    {
        await using var server = await Submission(o => { o.Auth.MaxFailuresPerAccount = 2; o.Auth.MaxFailuresPerIp = 100; });
        for (int i = 0; i < 2; i++)
        {
            await using var guess = await TlsClientAsync(server);
            await guess.CommandAsync("AUTH PLAIN " + Plain("bob@example.org", "guess-" + i), 535);
        }
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain("bob@example.org", Password), 454, "4.7.0");
        // Other accounts are not affected.
        await c.CommandAsync("AUTH PLAIN " + Plain("carol@other.test", Password), 235);
    }

    [Fact]
    public async Task AnAccountBlockSparesTheAddressItLoggedInFromBefore()
    {
        await using var server = await Submission(o => { o.Auth.MaxFailuresPerAccount = 2; o.Auth.MaxFailuresPerIp = 100; });
        await using (var first = await LoggedInAsync(server)) { }
        for (int i = 0; i < 2; i++)
        {
            await using var guess = await TlsClientAsync(server);
            await guess.CommandAsync("AUTH PLAIN " + Plain(Alice, "guess-" + i), 535);
        }
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 235);
    }

    [Fact]
    public async Task TheSameWrongPasswordRetriedWithAnotherMechanismCountsOnce()
    {
        await using var server = await Submission(o => { o.Auth.MaxFailuresPerAccount = 2; o.Auth.MaxFailuresPerIp = 100; });
        await using (var c = await TlsClientAsync(server))
        {
            // What MailKit does after a failed PLAIN: the same credentials with LOGIN.
            await c.CommandAsync("AUTH PLAIN " + Plain("bob@example.org", "typo-password"), 535);
            await c.CommandAsync("AUTH LOGIN " + B64("bob@example.org"), 334);
            await c.CommandAsync(B64("typo-password"), 535, "5.7.8");
        }
        await using var again = await TlsClientAsync(server);
        await again.CommandAsync("AUTH PLAIN " + Plain("bob@example.org", Password), 235);
    }

    [Fact]
    public async Task AfterTooManyFailuresFromAnAddressNoAccountMayLogInFromIt()
    {
        await using var server = await Submission(o => { o.Auth.MaxFailuresPerIp = 2; });
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain("x@example.org", "guess"), 535);
        await c.CommandAsync("AUTH PLAIN " + Plain("y@example.org", "guess"), 535);
        await c.CommandAsync("AUTH PLAIN " + Plain("carol@other.test", Password), 454, "4.7.0");
    }

    [Fact]
    public async Task MailWithoutLoginIsRefused()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 530, "5.7.0");
    }

    [Theory]
    [InlineData("alice@example.org")]
    [InlineData("Alice@EXAMPLE.org")]
    [InlineData("alice+lists@example.org")]
    [InlineData("sales@example.org")]
    [InlineData("")]
    public async Task AnAccountMaySendAsItselfItsSubaddressesItsAliasesAndTheNullSender(string sender)
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync($"MAIL FROM:<{sender}>", 250);
    }

    [Theory]
    [InlineData("bob@example.org")]
    [InlineData("carol@other.test")]
    [InlineData("alice@elsewhere.example")]
    [InlineData("alice@[127.0.0.1]")]
    [InlineData("bob+alice@example.org")]
    public async Task SendingAsSomebodyElseIsRefused(string sender)
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync($"MAIL FROM:<{sender}>", 553, "5.7.1");
    }

    [Theory]
    [InlineData("From: Bob <bob@example.org>\r\n")]
    [InlineData("From: alice@example.org, bob@example.org\r\nSender: alice@example.org\r\n")]
    [InlineData("From: alice@example.org\r\nSender: bob@example.org\r\n")]
    [InlineData("Resent-From: alice@example.org\r\nFrom: ceo@elsewhere.example\r\n")]
    [InlineData("From: =?utf-8?q?Alice?= <alice@example.org>\r\nFrom: boss@example.org\r\n")]
    public async Task AMessageThatNamesSomebodyElseAsAuthorIsRefusedAndNotQueued(string header)
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync(header + "Subject: x\r\n\r\nbody\r\n.\r\n");
        await c.ExpectAsync(553, "5.7.1");
        Assert.Empty(server.Arrivals.Ids);
        // The session goes on: the same client can send properly.
        await c.SendMessageAsync(Alice, ["friend@elsewhere.example"], "From: alice@example.org\r\n\r\nok\r\n"u8.ToArray());
    }

    [Fact]
    public async Task AMessageWithoutFromIsRefused()
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync("Subject: no author\r\n\r\nFrom: alice@example.org\r\n.\r\n");
        await c.ExpectAsync(550, "5.6.0");
        Assert.Empty(server.Arrivals.Ids);
    }

    [Fact]
    public async Task TheAuthorIsCheckedForBdatAsWell()
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 250);
        var part1 = "From: bo"u8.ToArray();
        var part2 = "b@example.org\r\n\r\nx\r\n"u8.ToArray();
        await c.SendAsync($"BDAT {part1.Length}\r\n");
        await c.SendAsync(part1);
        await c.ExpectAsync(250);
        await c.SendAsync($"BDAT {part2.Length} LAST\r\n");
        await c.SendAsync(part2);
        await c.ExpectAsync(553, "5.7.1");
        Assert.Empty(server.Arrivals.Ids);
    }

    [Theory]
    [InlineData("AUTH CRAM-MD5", 504, "5.5.4")]
    [InlineData("AUTH PLAIN !!!notbase64", 501, "5.5.2")]
    [InlineData("AUTH", 501, "5.5.4")]
    public async Task MalformedAuthCommandsGetPreciseReplies(string command, int code, string enhanced)
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync(command, code, enhanced);
    }

    [Fact]
    public async Task ClientMayCancelWithAStar()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH LOGIN", 334);
        await c.CommandAsync("*", 501, "5.0.0");
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 235);
    }

    [Fact]
    public async Task PlainWithTheAuthorizationIdentityOfSomebodyElseFails()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password, authz: "bob@example.org"), 535, "5.7.8");
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password, authz: Alice), 235);
    }

    [Fact]
    public async Task SecondAuthAndAuthDuringATransactionAreSequenceErrors()
    {
        await using var server = await Submission();
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 503, "5.5.1");
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("AUTH PLAIN " + Plain("bob@example.org", Password), 503, "5.5.1");
    }

    [Fact]
    public async Task MxListenerNeverOffersOrAcceptsAuth()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 503, "5.5.1");
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        var ehlo = await c.EhloAsync();
        Assert.DoesNotContain(ehlo.Lines, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 503, "5.5.1");
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 554, "5.7.1");
    }

    [Fact]
    public async Task TheSessionLogRecordsTheAccountAndFailedLogins()
    {
        await using var server = await Submission();
        await using (var c = await TlsClientAsync(server))
        {
            await c.CommandAsync("AUTH PLAIN " + Plain(Alice, "wrong"), 535);
            await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 235);
            await c.CommandAsync("QUIT", 221);
        }
        await server.StopAsync();
        var row = Assert.Single(server.Store.Database.Rows("SELECT listener, account, auth_failures FROM inbound_sessions",
            r => (r.GetString(0), r.GetString(1), r.GetInt64(2))));
        Assert.Equal(("submission", Alice, 1L), row);
    }
}
