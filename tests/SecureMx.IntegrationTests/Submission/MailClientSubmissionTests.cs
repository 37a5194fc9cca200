using System.Diagnostics;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using SecureMx.IntegrationTests.Support;
using AuthenticationException = MailKit.Security.AuthenticationException;

namespace SecureMx.IntegrationTests.Submission;

/// <summary>
/// Client submission with MailKit set up as Thunderbird is: port 465 "SSL/TLS" (implicit TLS) and port 587
/// "STARTTLS", "normal password" (PLAIN/LOGIN), the self-signed certificate pinned. Raw sockets where the
/// exact reply to a command a mail program would never send matters.
/// </summary>
public sealed class MailClientSubmissionTests(SubmissionFixture f) : IClassFixture<SubmissionFixture>
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";
    private SecureMxInstance Mx => f.Mx;

    /// <summary>AUTH PLAIN initial response for alice@example.test / password123.</summary>
    private static readonly string AlicePlain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{Alice}\0{SubmissionClient.Password}"));

    [Theory]
    [InlineData(SecureSocketOptions.SslOnConnect, "PLAIN")]
    [InlineData(SecureSocketOptions.SslOnConnect, "LOGIN")]
    [InlineData(SecureSocketOptions.StartTls, "PLAIN")]
    [InlineData(SecureSocketOptions.StartTls, "LOGIN")]
    public async Task AuthenticatedMessageIsDeliveredOverStrictTlsWithEsmtpsaAndLoggedWithItsAccount(SecureSocketOptions options, string mechanism)
    {
        using var client = await SubmissionClient.LoginAsync(Mx, options, Alice, mechanism: mechanism);
        Assert.True(client.CertificatePinMatched, "the server did not present the instance's certificate for its hostname");
        Assert.True(client.Smtp.IsSecure);
        Assert.Contains(client.Smtp.SslProtocol, new[] { SslProtocols.Tls12, SslProtocols.Tls13 });
        Assert.Matches("_GCM_|CHACHA20_POLY1305", client.Smtp.SslCipherSuite.ToString());
        Assert.Contains("PLAIN", client.Smtp.AuthenticationMechanisms);
        Assert.Contains("LOGIN", client.Smtp.AuthenticationMechanisms);
        Assert.StartsWith("235 2.7.0", client.LastReply("235"));

        var token = SubmissionClient.Token();
        var id = await client.SendAsync(SubmissionClient.Message(token, Alice, Bob), Alice, Bob);

        var (trace, original) = SecureMxInstance.SplitDelivered(await Mx.WaitForMessageAsync(Bob, token));
        Assert.StartsWith($"Return-Path: <{Alice}>\r\nReceived: from ", trace);
        Assert.Contains("(using TLSv1.", trace);
        Assert.Contains($"by mx.securemx.test (SecureMx) with ESMTPSA id {id}\r\n", trace);
        Assert.Contains($"Subject: {token}\r\n", Encoding.UTF8.GetString(original));

        var line = await LogLineAsync(Mx, "--account", Alice, id);
        Assert.Contains($"to=<{Bob}>", line);
        Assert.Contains(" delivered ", line);
        Assert.Contains($"account={Alice}", line);
    }

    [Fact]
    public async Task SubmissionPortBeforeStartTlsOffersStartTlsButNotAuthAndRefusesAuthAndMailWith530()
    {
        await using var smtp = await RawSmtp.ConnectAsync(Mx.Submission!);
        Assert.StartsWith("220 ", (await smtp.ReadReplyAsync())[0]);
        var ehlo = (await smtp.CommandAsync("EHLO client.test")).Split('\n');
        Assert.StartsWith("250", ehlo[0]);
        Assert.Contains(ehlo, l => l[4..] == "STARTTLS");
        Assert.DoesNotContain(ehlo, l => l[4..].StartsWith("AUTH", StringComparison.Ordinal));
        Assert.StartsWith("530 5.7.0", await smtp.CommandAsync("AUTH PLAIN " + AlicePlain));
        Assert.StartsWith("530 5.7.0", await smtp.CommandAsync("AUTH LOGIN"));
        Assert.StartsWith("530 5.7.0", await smtp.CommandAsync($"MAIL FROM:<{Alice}>"));
    }

    [Fact]
    public async Task MailProgramThatSkipsStartTlsOnTheSubmissionPortIsOfferedNoAuthAndItsMailIsRefusedWith530()
    {
        using var client = await SubmissionClient.ConnectAsync(Mx, SecureSocketOptions.None);
        Assert.False(client.Smtp.IsSecure);
        Assert.True(client.Smtp.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        Assert.False(client.Smtp.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        Assert.Empty(client.Smtp.AuthenticationMechanisms);

        var token = SubmissionClient.Token();
        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(SubmissionClient.Message(token, Alice, Bob), Alice, Bob));
        Assert.StartsWith("530 5.7.0", client.LastReply("530"));
        Assert.DoesNotContain(client.ServerLines, l => l.StartsWith("354", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(SecureSocketOptions.SslOnConnect)]
    [InlineData(SecureSocketOptions.StartTls)]
    public async Task AfterTlsAuthIsOfferedButMailBeforeAuthIsRefusedWith530(SecureSocketOptions options)
    {
        using var client = await SubmissionClient.ConnectAsync(Mx, options);
        Assert.True(client.CertificatePinMatched);
        Assert.Contains("PLAIN", client.Smtp.AuthenticationMechanisms);
        Assert.Contains("LOGIN", client.Smtp.AuthenticationMechanisms);

        var token = SubmissionClient.Token();
        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(SubmissionClient.Message(token, Alice, Bob), Alice, Bob));
        Assert.StartsWith("530 5.7.0 Authentication required", client.LastReply("530"));
        Assert.DoesNotContain(client.ServerLines, l => l.StartsWith("354", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WrongPasswordIsRefusedWith535AfterTheFailureDelay()
    {
        using var client = await SubmissionClient.ConnectAsync(Mx, SecureSocketOptions.SslOnConnect);
        var clock = Stopwatch.StartNew();
        // As a mail program does: MailKit tries every offered mechanism (PLAIN, then LOGIN); each gets 535.
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(Alice, "not-the-password"));
        Assert.True(clock.Elapsed >= SubmissionFixture.FailureDelay * 0.9, $"535 after {clock.Elapsed.TotalMilliseconds} ms, failureDelay is {SubmissionFixture.FailureDelay.TotalMilliseconds} ms");
        Assert.StartsWith("535 5.7.8", client.LastReply("535"));
        Assert.Null(client.LastReply("235"));
        Assert.False(client.Smtp.IsAuthenticated);
    }

    [Fact]
    public async Task UnknownUserGetsExactlyTheReplyOfAWrongPassword()
    {
        var replies = new List<string>();
        foreach (var user in new[] { Bob, "nobody@example.test", "somebody@elsewhere.test" })
        {
            using var client = await SubmissionClient.ConnectAsync(Mx, SecureSocketOptions.SslOnConnect);
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(user, "not-the-password", "PLAIN"));
            Assert.True(clock.Elapsed >= SubmissionFixture.FailureDelay * 0.9, $"{user}: 535 after {clock.Elapsed.TotalMilliseconds} ms");
            replies.Add(client.LastReply("535") ?? $"no 535 for {user}:\n{client.Transcript}");
        }
        Assert.StartsWith("535 5.7.8", replies[0]);
        Assert.All(replies, r => Assert.Equal(replies[0], r));
    }

    [Theory]
    [InlineData(Bob)]                     // another mailbox of the same domain
    [InlineData("sales@example.test")]    // an alias, but of bob's
    [InlineData("alice@elsewhere.test")]  // the same local part elsewhere
    [InlineData("ceo@elsewhere.test")]
    public async Task EnvelopeSenderTheAccountDoesNotOwnIsRefusedWith553AndNothingIsDelivered(string sender)
    {
        var token = SubmissionClient.Token();
        using (var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, Alice))
        {
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(SubmissionClient.Message(token, Alice, Bob), sender, Bob));
            Assert.Equal(553, (int)refused.StatusCode);
            Assert.Equal(SmtpErrorCode.SenderNotAccepted, refused.ErrorCode);
            Assert.StartsWith("553 5.7.1", client.LastReply("553"));
        }
        await AssertNotDeliveredAsync(Bob, token);
    }

    [Fact]
    public async Task PlainAuthorizationIdentityOfAnotherMailboxGivesNoRightToSendAsIt()
    {
        // AUTH PLAIN carries "authzid \0 authcid \0 password": alice's password with bob as authzid.
        using var client = await SubmissionClient.ConnectAsync(Mx, SecureSocketOptions.SslOnConnect);
        var plain = new SaslMechanismPlain(Alice, SubmissionClient.Password) { AuthorizationId = Bob };
        try
        {
            await client.Smtp.AuthenticateAsync(plain);
        }
        catch (AuthenticationException)
        {
            Assert.Matches("^5", client.ServerLines[^1]); // refusing the authzid outright is fine
            return;
        }
        // Accepted: then only as alice, never as bob.
        var token = SubmissionClient.Token();
        await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(SubmissionClient.Message(token, Bob, Alice), Bob, Alice));
        Assert.StartsWith("553 5.7.1", client.LastReply("553"));
    }

    [Theory]
    [InlineData("info@example.test", "info@example.test")]              // an alias that delivers to alice
    [InlineData("alice+lists@example.test", "alice+lists@example.test")] // a subaddress
    [InlineData("", Alice)]                                              // the null sender
    public async Task AccountMaySendAsItsAliasItsSubaddressOrTheNullSender(string sender, string from)
    {
        using var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.StartTls, Alice);
        var token = SubmissionClient.Token();
        var id = await client.SendAsync(SubmissionClient.Message(token, from, Bob), sender, Bob);
        var (trace, _) = SecureMxInstance.SplitDelivered(await Mx.WaitForMessageAsync(Bob, token));
        Assert.StartsWith($"Return-Path: <{sender}>\r\n", trace);
        Assert.Contains($"with ESMTPSA id {id}", trace);
    }

    [Theory]
    [InlineData(Bob)]
    [InlineData("ceo@elsewhere.test")]
    [InlineData("alice@example.test, bob@example.test")] // one of two authors is somebody else
    public async Task FromHeaderOfSomebodyElseIsRefusedWith553AtTheEndOfDataAndNothingIsDelivered(string from)
    {
        var token = SubmissionClient.Token();
        using (var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, Alice))
        {
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(SubmissionClient.Message(token, from, Bob), Alice, Bob));
            Assert.Equal(553, (int)refused.StatusCode);
            Assert.Equal(SmtpErrorCode.MessageNotAccepted, refused.ErrorCode);
            Assert.StartsWith("553 5.7.1", client.LastReply("553"));
            Assert.Contains(client.ServerLines, l => l.StartsWith("354", StringComparison.Ordinal)); // refused after the data, not before
        }
        await AssertNotDeliveredAsync(Bob, token);
    }

    [Fact]
    public async Task MessageForARemoteDomainIsQueuedForOutboundDeliveryWithItsAccount()
    {
        using var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, Alice);
        var token = SubmissionClient.Token();
        var id = await client.SendAsync(SubmissionClient.Message(token, Alice, "friend@elsewhere.test"), Alice, "friend@elsewhere.test");

        // This instance has no working resolver: the message waits in the queue.
        var show = await Mx.Cli("queue", "show", id);
        Assert.True(show.ExitCode == 0, show.All);
        Assert.Matches($@"sender:\s+<{Alice}> \(account {Alice}\)", show.StdOut);
        Assert.Contains("friend@elsewhere.test", show.StdOut);
        Assert.Contains($"Subject: {token}", show.StdOut);

        var list = await Mx.Cli("queue", "list", "--json");
        Assert.True(list.ExitCode == 0, list.All);
        using (var doc = JsonDocument.Parse(list.StdOut))
        {
            var message = doc.RootElement.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);
            AssertSubmissionClient(message.GetProperty("client"));
        }

        var showJson = await Mx.Cli("queue", "show", id, "--json");
        Assert.True(showJson.ExitCode == 0, showJson.All);
        using (var doc = JsonDocument.Parse(showJson.StdOut))
        {
            Assert.Equal(id, doc.RootElement.GetProperty("id").GetString());
            AssertSubmissionClient(doc.RootElement.GetProperty("client"));
        }

        static void AssertSubmissionClient(JsonElement c)
        {
            Assert.Equal(Alice, c.GetProperty("account").GetString());
            Assert.Equal("submissions", c.GetProperty("listener").GetString());
            Assert.Equal("ESMTPSA", c.GetProperty("protocol").GetString());
        }
    }

    [Fact]
    public async Task MxListenerNeverOffersAuthAndRefusesItWith503()
    {
        await using (var smtp = await RawSmtp.ConnectAsync(Mx.Mx))
        {
            await smtp.ReadReplyAsync();
            var ehlo = (await smtp.CommandAsync("EHLO client.test")).Split('\n');
            Assert.Contains(ehlo, l => l[4..] == "STARTTLS");
            Assert.DoesNotContain(ehlo, l => l[4..].StartsWith("AUTH", StringComparison.Ordinal));
            Assert.StartsWith("503 5.5.1", await smtp.CommandAsync("AUTH PLAIN " + AlicePlain));
        }
        // Not after STARTTLS either: the MX is for mail from other servers, never for logins.
        using var client = await SubmissionClient.ConnectAsync(Mx, Mx.Mx, SecureSocketOptions.StartTls);
        Assert.True(client.Smtp.IsSecure);
        Assert.False(client.Smtp.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        Assert.Empty(client.Smtp.AuthenticationMechanisms);
    }

    [Fact]
    public async Task MailboxPasswdOnARunningServerRefusesTheOldPasswordAtOnceAndAcceptsTheNewOne()
    {
        const string carol = "carol@example.test";
        using (await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, carol)) { } // the old password works before

        var r = await Run.SecureMxWithStdinAsync("carol-new-secret\n", "mailbox", "passwd", carol, "--password-stdin", "--data", Mx.DataDir);
        Assert.True(r.ExitCode == 0, r.All);

        using (var old = await SubmissionClient.ConnectAsync(Mx, SecureSocketOptions.SslOnConnect))
        {
            await Assert.ThrowsAsync<AuthenticationException>(() => old.AuthenticateAsync(carol, SubmissionClient.Password, "PLAIN"));
            Assert.StartsWith("535 5.7.8", old.LastReply("535"));
        }
        using var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.StartTls, carol, "carol-new-secret", "LOGIN");
        var token = SubmissionClient.Token();
        await client.SendAsync(SubmissionClient.Message(token, carol, Alice), carol, Alice);
        await Mx.WaitForMessageAsync(Alice, token);
    }

    [Fact]
    public async Task MailboxPasswdRefusesAShortPasswordAndAnUnknownMailboxAndChangesNothing()
    {
        const string dave = "dave@example.test";
        var shortPassword = await Run.SecureMxWithStdinAsync("short12\n", "mailbox", "passwd", dave, "--password-stdin", "--data", Mx.DataDir);
        Assert.Equal(1, shortPassword.ExitCode);
        Assert.StartsWith("securemx: ", shortPassword.StdErr);
        var unknown = await Run.SecureMxWithStdinAsync("long-enough-password\n", "mailbox", "passwd", "nobody@example.test", "--password-stdin", "--data", Mx.DataDir);
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("securemx: ", unknown.StdErr);

        using var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, dave, mechanism: "PLAIN");
        Assert.True(client.Smtp.IsAuthenticated);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SubmissionListenersRefuseTls12WithACbcCipherButAcceptAnAeadOne(bool implicitTls)
    {
        Assert.True(Run.Exists("openssl"), "openssl is not installed: run scripts/install-test-deps.sh");
        const string cbc = "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384";
        async Task<ProcessResult> HandshakeAsync(System.Net.IPEndPoint endpoint, bool startTls, string cipher)
        {
            var args = new List<string> { "s_client", "-connect", Net.Text(endpoint), "-servername", Mx.Hostname, "-tls1_2", "-cipher", cipher };
            if (startTls) args.AddRange(["-starttls", "smtp"]);
            return await Run.ProcessAsync("openssl", args, stdin: "", timeout: TimeSpan.FromSeconds(20));
        }
        var endpoint = implicitTls ? Mx.Submissions! : Mx.Submission!;

        var aead = await HandshakeAsync(endpoint, !implicitTls, "ECDHE-RSA-AES128-GCM-SHA256");
        Assert.True(aead.ExitCode == 0, aead.All);
        Assert.Contains("Cipher is ECDHE-RSA-AES128-GCM-SHA256", aead.StdOut);

        var refused = await HandshakeAsync(endpoint, !implicitTls, cbc);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.DoesNotMatch(@"Cipher is ECDHE-RSA-AES\d+-SHA", refused.StdOut);

        // Control: the same client offer succeeds at the MX (opportunistic profile), so the refusal is the listener's.
        var mx = await HandshakeAsync(Mx.Mx, true, cbc);
        Assert.Matches(@"Cipher is ECDHE-RSA-AES\d+-SHA\d+", mx.StdOut);
    }

    /// <summary>
    /// The refused message did not arrive: a second message sent afterwards is waited for, and the queue
    /// delivers in order, so by then the first one would be there too.
    /// </summary>
    private async Task AssertNotDeliveredAsync(string recipient, string token)
    {
        using var client = await SubmissionClient.LoginAsync(Mx, SecureSocketOptions.SslOnConnect, Alice);
        var later = SubmissionClient.Token();
        await client.SendAsync(SubmissionClient.Message(later, Alice, recipient), Alice, recipient);
        await Mx.WaitForMessageAsync(recipient, later);
        Assert.DoesNotContain(Mx.Messages(recipient), file => File.ReadAllText(file).Contains(token, StringComparison.Ordinal));
    }

    /// <summary>
    /// The line of `securemx log FILTER VALUE` that names queue id <paramref name="id"/>, once it is there
    /// (the server writes the delivery log behind, in batches).
    /// </summary>
    internal static async Task<string> LogLineAsync(SecureMxInstance mx, string filter, string value, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var log = await mx.Cli("log", filter, value);
            Assert.True(log.ExitCode == 0, log.All);
            var line = log.StdOut.Split('\n').FirstOrDefault(l => l.Contains(id, StringComparison.Ordinal));
            if (line is not null) return line;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no line for {id} in securemx log {filter} {value}:\n{log.StdOut}");
            await Task.Delay(200);
        }
    }
}
