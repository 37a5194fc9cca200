using System.Text;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// Submission listeners: TLS first, then AUTH, then mail only as oneself — to anywhere. Here what the
/// wire alone does not show (the envelope, the queue, the session log); the rest is in Dialogues/auth.
/// </summary>
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
    public async Task AStoreThatCannotBeReadGetsA454TemporaryFailureAndTheSessionGoesOn()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        server.Store.Database.Execute("ALTER TABLE mailboxes RENAME TO mailboxes_away"); // the store fails every lookup of a password
        // Fail-closed and temporary (RFC 4954 §6): neither 235 nor the 535 of a wrong password.
        var refused = await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 454, "4.7.0");
        Assert.Contains("temporary authentication failure", refused.Text, StringComparison.Ordinal);

        server.Store.Database.Execute("ALTER TABLE mailboxes_away RENAME TO mailboxes");
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, Password), 235, "2.7.0");
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
