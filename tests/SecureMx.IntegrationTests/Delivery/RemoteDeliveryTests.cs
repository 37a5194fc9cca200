using System.Text.RegularExpressions;
using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Submission;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// Mail for remote recipients leaves a running SecureMx through real DNS (DNSSEC test bed) to real
/// Postfix receivers; every outcome reaches the sender as a DSN, parsed back with MimeKit.
/// </summary>
public sealed class RemoteDeliveryTests(RemoteDeliveryFixture f) : IClassFixture<RemoteDeliveryFixture>
{
    private const string Sender = "alice@example.test";

    private static string Token() => "t" + Guid.NewGuid().ToString("N")[..12];

    private Task<string> SendmailAsync(string token, params string[] recipients) => SendmailFromAsync(Sender, token, recipients);

    private async Task<string> SendmailFromAsync(string sender, string token, params string[] recipients)
    {
        var message = $"From: <{sender}>\nTo: {string.Join(", ", recipients)}\nSubject: {token}\nMessage-ID: <{token}@example.test>\n\n.a dot line\nbody of {token}\n";
        var args = new List<string> { Run.SecureMxDll, "sendmail", "-f", sender, "--data", f.Mx.DataDir };
        args.AddRange(recipients);
        var r = await Run.ProcessAsync("dotnet", args, stdin: message);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("queued as ", r.StdOut);
        return r.StdOut[10..].Trim();
    }

    /// <summary>DSNs in the sender's Maildir that report on the message with <paramref name="token"/>.</summary>
    private List<MimeMessage> Dsns(string token, string sender = Sender) => f.Mx.Messages(sender)
        .Select(File.ReadAllText)
        .Where(t => t.Contains(token, StringComparison.Ordinal) && t.Contains("report-type=delivery-status", StringComparison.Ordinal))
        .Select(t => MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(t))))
        .ToList();

    private async Task<List<MimeMessage>> WaitForDsnsAsync(string token, int count, TimeSpan timeout, string sender = Sender)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var dsns = Dsns(token, sender);
            if (dsns.Count >= count) return dsns;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{dsns.Count} of {count} DSNs for {token}; queue:\n{(await f.Mx.Cli("queue", "list")).StdOut}\nlog:\n{f.Mx.Log}");
            await Task.Delay(200);
        }
    }

    private static HeaderList RecipientGroup(MimeMessage dsn)
    {
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("delivery-status", report.ReportType);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal(2, status.StatusGroups.Count); // per-message + one recipient, no empty trailing group
        Assert.StartsWith("dns; mx.securemx.test", status.StatusGroups[0]["Reporting-MTA"]);
        return status.StatusGroups[1];
    }

    /// <summary>
    /// The delivery log lines of a recipient once one matches <paramref name="expect"/>: the server writes
    /// log rows behind (in batches every 200 ms), so a reader in another process may be a moment early.
    /// </summary>
    private async Task<string> LogAsync(string recipient, string expect)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var log = (await f.Mx.Cli("log", "--recipient", recipient)).StdOut;
            if (System.Text.RegularExpressions.Regex.IsMatch(log, expect) || DateTime.UtcNow > deadline) return log;
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task MessageIsDeliveredToTheMxOverTlsByteExactAndLoggedAsEncrypted()
    {
        var token = Token();
        await SendmailAsync(token, $"user@{TestBed.Deliver.Name}");
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        // Postfix's own Received header is the witness of what our client negotiated.
        Assert.Matches(@"Received: from mx\.securemx\.test \(\S+ \[127\.0\.0\.1\]\)\n\t\(using TLSv1\.3 with cipher", stored);
        Assert.Contains($"by {TestBed.Deliver.Mx} (Postfix) with ESMTPS", stored);
        Assert.EndsWith($"Subject: {token}\nMessage-ID: <{token}@example.test>\n\n.a dot line\nbody of {token}\n", stored);
        var log = await LogAsync($"user@{TestBed.Deliver.Name}", "delivered");
        Assert.Matches($@"to=<user@{Regex.Escape(TestBed.Deliver.Name)}> relay={Regex.Escape(TestBed.Deliver.Mx)}\[{Regex.Escape(f.Dns.AddressOf(TestBed.Deliver.Mx).ToString())}\] delivered tls=encrypted TLSv1\.3 TLS_\S+ \(250 2\.0\.0 ", log);
        Assert.Empty(Dsns(token));
    }

    [Fact]
    public async Task PeerWithoutStartTlsGetsTheMessageInPlaintextUnderTheDefaultPolicy()
    {
        var token = Token();
        await SendmailAsync(token, $"user@{TestBed.Plain.Name}");
        var stored = await f.Plain.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.Contains($"by {TestBed.Plain.Mx} (Postfix) with ESMTP id", stored);
        Assert.DoesNotContain("using TLS", stored);
        Assert.Contains("delivered tls=none", await LogAsync($"user@{TestBed.Plain.Name}", "delivered"));
    }

    [Fact]
    public async Task WhenTheFirstMxIsDownTheSecondOneGetsTheMessage()
    {
        var token = Token();
        await SendmailAsync(token, $"user@{TestBed.TwoMx.Name}");
        await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.Matches($@"to=<user@{Regex.Escape(TestBed.TwoMx.Name)}> relay={Regex.Escape(TestBed.TwoMx.MxHosts[1].Host)}\[\S+\] delivered", await LogAsync($"user@{TestBed.TwoMx.Name}", "delivered"));
    }

    [Fact]
    public async Task RejectedRecipientBouncesAtOnceWithAFailureDsn()
    {
        var token = Token();
        var id = await SendmailAsync(token, $"nobody@{TestBed.Reject.Name}");
        var dsn = (await WaitForDsnsAsync(token, 1, TimeSpan.FromSeconds(30))).Single();
        Assert.Equal("MAILER-DAEMON@mx.securemx.test", dsn.From.Mailboxes.Single().Address);
        Assert.Equal("auto-replied", dsn.Headers["Auto-Submitted"]);
        var group = RecipientGroup(dsn);
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.1.1", group["Status"]);
        Assert.Contains($"nobody@{TestBed.Reject.Name}", group["Final-Recipient"]);
        Assert.Contains(TestBed.Reject.Mx, group["Remote-MTA"]);
        Assert.Contains("550", group["Diagnostic-Code"]);
        Assert.Contains("no such user", dsn.TextBody);
        Assert.Contains("failed", await LogAsync($"nobody@{TestBed.Reject.Name}", "failed"));
        Assert.DoesNotContain(id, (await f.Mx.Cli("queue", "list")).StdOut);
    }

    /// <summary>
    /// Issue 12, item 5: an account that chose German (`securemx mailbox language`, read by the running
    /// server when the DSN is made) gets its bounce in German, through the real queue into its Maildir;
    /// the machine-readable report is the same as for everyone else.
    /// </summary>
    [Fact]
    public async Task AGermanAccountsBounceArrivesInItsMaildirInGerman()
    {
        const string greta = RemoteDeliveryFixture.GermanSender;
        await f.Mx.CliOk("mailbox", "language", greta, "de");
        var token = Token();
        await SendmailFromAsync(greta, token, $"nobody@{TestBed.Reject.Name}");

        var dsn = (await WaitForDsnsAsync(token, 1, TimeSpan.FromSeconds(30), greta)).Single();
        Assert.Equal($"Unzustellbar: {token}", dsn.Subject);
        Assert.Equal("E-Mail-Zustellsystem", dsn.From.Mailboxes.Single().Name);
        Assert.Equal("MAILER-DAEMON@mx.securemx.test", dsn.From.Mailboxes.Single().Address);
        var text = Assert.IsType<TextPart>(Assert.IsType<MultipartReport>(dsn.Body)[0]);
        Assert.Equal("de", text.Headers[HeaderId.ContentLanguage]);
        Assert.Equal("utf-8", text.ContentType.Charset);
        var flat = Regex.Replace(text.Text, @"\s+", " ");
        Output?.WriteLine(text.Text);
        Assert.Contains("Ihre Nachricht konnte den folgenden Empfängern nicht zugestellt werden.", flat);
        Assert.Contains($"<nobody@{TestBed.Reject.Name}>", flat);
        Assert.Contains("Grund: Das Postfach des Empfängers existiert nicht (Status 5.1.1).", flat);
        Assert.Matches($@"Der Server {Regex.Escape(TestBed.Reject.Mx)} antwortete: 550 5\.1\.1 .*no such user", flat);
        Assert.Contains("Was Sie tun können", flat);
        var group = RecipientGroup(dsn);
        Assert.Equal(("failed", "5.1.1"), (group["Action"], group["Status"]));
        Assert.Contains("550", group["Diagnostic-Code"]);
        // Umlauts as quoted-printable and an encoded-word: the stored DSN is 7-bit.
        var stored = f.Mx.Messages(greta).Select(File.ReadAllBytes).Single(b => System.Text.Encoding.ASCII.GetString(b).Contains(token, StringComparison.Ordinal));
        Assert.All(stored, b => Assert.True(b < 0x80));
        Assert.Empty(Dsns(token));
    }

    private static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    [Fact]
    public async Task DeferringPeerCausesExactlyOneDelayDsnThenOneFailureDsnAtExpiry()
    {
        var token = Token();
        var id = await SendmailAsync(token, $"user@{TestBed.Defer.Name}");
        var first = (await WaitForDsnsAsync(token, 1, TimeSpan.FromSeconds(20))).Single();
        var delayed = RecipientGroup(first);
        Assert.Equal("delayed", delayed["Action"]);
        Assert.StartsWith("4.", delayed["Status"]);
        Assert.NotNull(delayed["Will-Retry-Until"]);
        Assert.Contains("mailbox busy", first.TextBody);
        var listing = (await f.Mx.Cli("queue", "list")).StdOut;
        Assert.Contains(id, listing);
        Assert.Contains("450", listing);

        var both = await WaitForDsnsAsync(token, 2, TimeSpan.FromSeconds(30));
        var failed = RecipientGroup(both.Single(d => d != both.First(x => RecipientGroup(x)["Action"] == "delayed")));
        Assert.Equal("failed", failed["Action"]);
        Assert.Equal("5.4.7", failed["Status"]);
        await Task.Delay(3000); // retries every second: no further DSN may follow
        Assert.Equal(2, Dsns(token).Count);
        Assert.Single(Dsns(token), d => RecipientGroup(d)["Action"] == "delayed");
        Assert.DoesNotContain(id, (await f.Mx.Cli("queue", "list")).StdOut);
    }

    [Theory]
    [InlineData(nameof(TestBed.NullMx), "5.1.10")]
    [InlineData(nameof(TestBed.Nx), "5.1.2")]
    public async Task DomainsThatCannotReceiveMailBounceAtOnce(string domain, string status)
    {
        var token = Token();
        await SendmailAsync(token, "user@" + TestBed.Definition.Domain(domain));
        var group = RecipientGroup((await WaitForDsnsAsync(token, 1, TimeSpan.FromSeconds(20))).Single());
        Assert.Equal("failed", group["Action"]);
        Assert.Equal(status, group["Status"]);
    }

    [Fact]
    public async Task ConnectionDroppedInTheMiddleOfDataDefersAndNothingIsLost()
    {
        var token = Token();
        var id = await SendmailAsync(token, $"user@{TestBed.Drop.Name}");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string listing;
        do
        {
            await Task.Delay(200);
            listing = (await f.Mx.Cli("queue", "list")).StdOut;
        }
        while (!(listing.Contains(id, StringComparison.Ordinal) && listing.Contains("deferred", StringComparison.Ordinal)) && DateTime.UtcNow < deadline);
        Assert.Contains(TestBed.Drop.Mx, listing);
        // How the loss shows depends on timing: EOF while we wait for the reply, or a reset while we still
        // write the body (the peer closed with unread data). Either way the host is named and the mail waits.
        Assert.Matches($@"{Regex.Escape(TestBed.Drop.Mx)}\[\S+\]: .*(connection closed by server|Connection reset by peer|Broken pipe)", listing);
        Assert.True(f.Dropping.Drops >= 1);
        Assert.Contains("deferred", await LogAsync($"user@{TestBed.Drop.Name}", "deferred"));
        // The message stays queued until it expires; the sender is told, with the reason.
        var failed = (await WaitForDsnsAsync(token, 2, TimeSpan.FromSeconds(30))).Select(RecipientGroup).Single(g => g["Action"] == "failed");
        Assert.Equal("5.4.7", failed["Status"]);
    }

    [Fact]
    public async Task APeerWithOnlyTls10AndCbcGetsTheMailOverWeakTlsNotInPlaintextUnderTheDefaultPolicy()
    {
        // The weak peer offers only TLS 1.0 with AES-CBC-SHA1 and RSA key exchange. RFC 7435: any
        // encryption beats none, so level "may" takes it (as Postfix does) and records it as weak.
        var token = Token();
        await SendmailAsync(token, $"user@{TestBed.Weak.Name}");
        var stored = await f.Weak.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.Matches(@"\(using TLSv1 with cipher AES(128|256)-SHA \(\d+/\d+ bits\)\)", stored);
        Assert.Contains($"by {TestBed.Weak.Mx} (Postfix) with ESMTPS id", stored);
        var peerLog = f.Weak.MailLog;
        Assert.Matches(@"TLS connection established from \S+: TLSv1 with cipher AES(128|256)-SHA", peerLog);
        Assert.Contains("status=sent (delivered to maildir)", peerLog);
        Assert.Matches($@"to=<user@{Regex.Escape(TestBed.Weak.Name)}> relay={Regex.Escape(TestBed.Weak.Mx)}\[\S+\] delivered tls=encrypted TLSv1 TLS_RSA_WITH_AES_(128|256)_CBC_SHA weak \(250 ",
            await LogAsync($"user@{TestBed.Weak.Name}", "delivered"));
    }

    [Fact]
    public async Task ConsecutiveMessagesToTheSameServerReuseOneConnection()
    {
        var before = f.Receiver.MailLog.Length;
        var tokens = Enumerable.Range(0, 5).Select(_ => Token()).ToList();
        foreach (var token in tokens)
        {
            await SendmailAsync(token, $"user@{TestBed.Deliver.Name}");
            await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        }
        var log = f.Receiver.MailLog[before..];
        var connects = System.Text.RegularExpressions.Regex.Count(log, @"smtpd\[\d+\]: connect from");
        var handshakes = System.Text.RegularExpressions.Regex.Count(log, "TLS connection established from");
        Assert.True(connects < tokens.Count, $"{connects} connections for {tokens.Count} messages:\n{log}");
        Assert.True(handshakes < tokens.Count, $"{handshakes} TLS handshakes for {tokens.Count} messages");
        // Reused sessions keep their TLS: every message still arrived over TLS.
        Assert.All(tokens, t => Assert.Contains("with ESMTPS", f.Receiver.StoredMessages().Single(m => m.Contains(t, StringComparison.Ordinal))));
    }

    [Fact]
    public async Task EightBitMessageIsConvertedTo7BitMimeForAServerWithout8BitMime()
    {
        var token = Token();
        var message = $"From: {Sender}\nTo: user@{TestBed.Old.Name}\nSubject: {token}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße aus München, {token}\n";
        var r = await Run.ProcessAsync("dotnet", [Run.SecureMxDll, "sendmail", "-f", Sender, "--data", f.Mx.DataDir, $"user@{TestBed.Old.Name}"], stdin: message);
        Assert.True(r.ExitCode == 0, r.All);
        var stored = await f.Old.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.True(stored.All(c => c < 128), "8-bit bytes reached a server that did not offer 8BITMIME");
        var parsed = MimeMessage.Load(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(stored)));
        Assert.Equal($"Grüße aus München, {token}\n", parsed.TextBody!.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Contains("delivered", await LogAsync($"user@{TestBed.Old.Name}", "delivered"));
    }

    [Fact]
    public async Task AuthenticatedSubmissionForARemoteDomainIsDeliveredToItsMxAndLoggedWithTheAccount()
    {
        var token = Token();
        string id;
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, Sender))
        {
            id = await client.SendAsync(SubmissionClient.Message(token, Sender, $"user@{TestBed.Deliver.Name}"), Sender, $"user@{TestBed.Deliver.Name}");
        }
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.Contains($"by {TestBed.Deliver.Mx} (Postfix) with ESMTPS", stored);
        Assert.Contains($"Subject: {token}", stored);
        // Our own trace field travels with relayed mail (RFC 5321 §4.4), naming the login as ESMTPSA.
        Assert.Matches($@"by {Regex.Escape(f.Mx.Hostname)} \(SecureMx\) with ESMTPSA id {id}\r?\n\tfor <user@{Regex.Escape(TestBed.Deliver.Name)}>;", stored);

        var line = await MailClientSubmissionTests.LogLineAsync(f.Mx, "--account", Sender, id);
        Assert.Matches($@"to=<user@{Regex.Escape(TestBed.Deliver.Name)}> relay={Regex.Escape(TestBed.Deliver.Mx)}\[\S+\] delivered tls=encrypted ", line);
        Assert.Contains($"account={Sender}", line);

        // The same sender without a login (sendmail, which records the local user instead): --account leaves it out.
        var unauthenticated = await SendmailAsync(Token(), $"user@{TestBed.Deliver.Name}");
        var unauthenticatedLine = await MailClientSubmissionTests.LogLineAsync(f.Mx, "--sender", Sender, unauthenticated);
        Assert.Contains(" delivered ", unauthenticatedLine);
        Assert.DoesNotContain($"account={Sender}", unauthenticatedLine);
        var byAccount = (await f.Mx.Cli("log", "--account", Sender)).StdOut;
        Assert.Contains(id, byAccount);
        Assert.DoesNotContain(unauthenticated, byAccount);
    }
}
