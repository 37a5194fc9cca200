using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// Outbound mandatory TLS and DANE (README "Mandatory TLS and DANE"): a running SecureMx delivers through
/// the DNSSEC test bed to Postfix receivers with matching, mismatching and missing TLSA records, without
/// STARTTLS, and with TLS 1.0 only; under the default level (dane), with mandatory TLS for a sender domain,
/// for one account and for a destination, changed on the running server. The Postfix peers' Received
/// headers and logs are the independent witnesses; every DSN is parsed back with MimeKit.
/// Each test uses its own senders or recipients, so the order of the tests does not matter.
/// </summary>
public sealed class MandatoryTlsDeliveryTests(MandatoryTlsFixture f) : IClassFixture<MandatoryTlsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    private static string Token() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The address of the zone's one MX host on the fixture's test bed.</summary>
    private string Ip(TestBedZone zone) => f.Dns.AddressOf(zone.Mx).ToString();

    /// <summary>Queues a message from <paramref name="sender"/> with `securemx sendmail`; returns the queue id.</summary>
    private async Task<string> SendmailAsync(string sender, string token, params string[] recipients)
    {
        var message = $"From: <{sender}>\nTo: {string.Join(", ", recipients)}\nSubject: {token}\nMessage-ID: <{token}@example.test>\n\nbody of {token}\n";
        var r = await Run.ProcessAsync("dotnet", [Run.SecureMxDll, "sendmail", "-f", sender, "--data", f.Mx.DataDir, .. recipients], stdin: message);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("queued as ", r.StdOut);
        return r.StdOut[10..].Trim();
    }

    /// <summary>
    /// Sends a message as the logged-in account <paramref name="sender"/> (submissions port, implicit TLS); returns
    /// the queue id. A running server starts delivering it at once, while `sendmail` mail waits for the queue
    /// scheduler's next look at the spool (up to 5 s): the submission port keeps these tests fast.
    /// </summary>
    private async Task<string> SubmitAsync(string sender, string token, params string[] recipients)
    {
        using var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, sender);
        return await client.SendAsync(SubmissionClient.Message(token, sender, recipients), sender, recipients);
    }

    /// <summary>Waits until <paramref name="recipient"/> of message <paramref name="id"/> is deferred with a last error; returns that error.</summary>
    private Task<string> WaitForDeferredAsync(string id, string recipient) => f.Mx.WaitForDeferredAsync(id, recipient, Wait);

    private Task<string> RecipientLogAsync(string recipient, string expect) => f.Mx.DeliveryLogAsync(expect, "--recipient", recipient);

    /// <summary>DSNs in <paramref name="sender"/>'s Maildir about the message with <paramref name="token"/>.</summary>
    private List<MimeMessage> Dsns(string sender, string token) => f.Mx.Messages(sender)
        .Select(File.ReadAllText)
        .Where(t => t.Contains(token, StringComparison.Ordinal) && t.Contains("report-type=delivery-status", StringComparison.Ordinal))
        .Select(t => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(t))))
        .ToList();

    private async Task<List<MimeMessage>> WaitForDsnsAsync(string sender, string token, int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var dsns = Dsns(sender, token);
            if (dsns.Count >= count) return dsns;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{dsns.Count} of {count} DSNs for {token}; queue:\n{(await f.Mx.Cli("queue", "list")).StdOut}\nlog:\n{f.Mx.Log}");
            await Task.Delay(100);
        }
    }

    /// <summary>The per-recipient group of a DSN with exactly one recipient.</summary>
    private static HeaderList RecipientGroup(MimeMessage dsn)
    {
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("delivery-status", report.ReportType);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal(2, status.StatusGroups.Count);
        return status.StatusGroups[1];
    }

    /// <summary>The human-readable part with every run of white space as one space (it is wrapped at 76 columns).</summary>
    private static string Collapsed(MimeMessage dsn) => Regex.Replace(dsn.TextBody ?? "", @"\s+", " ");

    private const string AboutTls = "About TLS: this message may only be handed over encrypted, with TLS 1.2 or newer and secure ciphers";
    private const string WhatYouCanDo = "What you can do: if this message may travel without that protection, switch mandatory TLS off for your account or domain";

    /// <summary>In a log line: " account=A" when the message has an account (sendmail records the local Unix user).</summary>
    private const string Account = @"( account=\S+)?";

    /// <summary>In a log line: the relay, which a deferral that names its hosts in the text may leave out.</summary>
    private const string Relay = @"( relay=\S+)?";

    /// <summary>
    /// The Postfix peer's own trace field: the first Received header of a stored message, unfolded (the ones
    /// below it are ours, e.g. "using TLSv1.3" of the submission session).
    /// </summary>
    private static string PeerReceived(string stored)
    {
        var m = Regex.Match(stored, @"^Received: .*(\n[ \t].*)*", RegexOptions.Multiline);
        Assert.True(m.Success, "no Received header in:\n" + stored);
        return Regex.Replace(m.Value, @"\r?\n[ \t]+", " ");
    }

    private static void AssertNotAtPeer(PostfixPeer peer, string token) =>
        Assert.DoesNotContain(peer.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));

    [Fact]
    public async Task DefaultLevelDeliversToDaneEeAndDaneTaHostsOverDaneVerifiedTls()
    {
        Output?.WriteLine($"test bed on {f.Net}, seven Postfix peers and SecureMx started in {f.StartTime.TotalSeconds:F1} s ({f.StartDetail})");
        var token = Token();
        string ok = $"{token}@{TestBed.DaneOk.Name}", ta = $"{token}@{TestBed.DaneTa.Name}";
        await SubmitAsync("alice@example.test", token, ok, ta);

        foreach (var (peer, host, ip, rcpt) in new[] { (f.DaneOk, TestBed.DaneOk.Mx, Ip(TestBed.DaneOk), ok), (f.DaneTa, TestBed.DaneTa.Mx, Ip(TestBed.DaneTa), ta) })
        {
            // Postfix's own Received header: our client used TLS 1.3.
            var received = PeerReceived(await peer.WaitForMessageAsync(token, Wait));
            Output?.WriteLine(received);
            Assert.Matches($@"^Received: from mx\.securemx\.test \(\S+ \[127\.0\.0\.1\]\) \(using TLSv1\.3 with cipher \S+ .* by {Regex.Escape(host)} \(Postfix\) with ESMTPS id ", received);
            var log = await RecipientLogAsync(rcpt, "delivered");
            Output?.WriteLine(log.TrimEnd());
            Assert.Matches($@"from=<alice@example\.test>{Account} to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(host)}\[{Regex.Escape(ip)}\] delivered tls=dane TLSv1\.3 TLS_\S+ \(250 ", log);
        }
    }

    [Fact]
    public async Task DaneMismatchAndTlsaServfailAreDeferredWith475AndNothingReachesThePeer()
    {
        var token = Token();
        string bad = $"{token}@{TestBed.DaneBad.Name}", servfail = $"{token}@{TestBed.TlsaServfail.Name}";
        var servfailConnectsBefore = Regex.Count(f.TlsaServfail.MailLog, @"smtpd\[\d+\]: connect from");
        var id = await SubmitAsync("alice@example.test", token, bad, servfail);

        var badError = await WaitForDeferredAsync(id, bad);
        var servfailError = await WaitForDeferredAsync(id, servfail);
        Output?.WriteLine($"queue, {bad}: {badError}\nqueue, {servfail}: {servfailError}");
        Assert.StartsWith($"4.7.5 Server certificate of {TestBed.DaneBad.Mx}[{Ip(TestBed.DaneBad)}] not verified by DANE: no TLSA record matched the certificate chain", badError);
        Assert.StartsWith($"4.7.5 TLSA lookup error for {TestBed.TlsaServfail.Tlsa.Owner}: ", servfailError);
        foreach (var e in new[] { badError, servfailError }) Assert.EndsWith("(TLS level dane (from global default (delivery.defaultTlsLevel)))", e);

        var badLog = await RecipientLogAsync(bad, "deferred");
        var servfailLog = await RecipientLogAsync(servfail, "deferred");
        Output?.WriteLine(badLog.TrimEnd() + "\n" + servfailLog.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(bad)}>{Relay} deferred tls=none \(451 4\.7\.5 Server certificate of {Regex.Escape(TestBed.DaneBad.Mx)}\[{Regex.Escape(Ip(TestBed.DaneBad))}\] not verified by DANE: no TLSA record matched the certificate chain", badLog);
        Assert.Matches($@"to=<{Regex.Escape(servfail)}>{Relay} deferred tls=none \(451 4\.7\.5 TLSA lookup error for {Regex.Escape(TestBed.TlsaServfail.Tlsa.Owner)}: ", servfailLog);

        // Still queued, nothing delivered; the TLSA SERVFAIL host was not even contacted (as Postfix does).
        var queued = (await f.Mx.QueueListAsync()).Single(m => (string?)m!["id"] == id)!["recipients"]!.AsArray();
        Assert.All(queued, r => Assert.Equal("deferred", (string?)r!["state"]));
        AssertNotAtPeer(f.DaneBad, token);
        AssertNotAtPeer(f.TlsaServfail, token);
        Assert.DoesNotContain("status=sent", f.DaneBad.MailLog);
        Assert.Equal(servfailConnectsBefore, Regex.Count(f.TlsaServfail.MailLog, @"smtpd\[\d+\]: connect from"));
    }

    [Fact]
    public async Task UnsignedDomainIsDeliveredEncryptedDespiteItsBogusTlsa()
    {
        var token = Token();
        var rcpt = $"{token}@{TestBed.Unsigned.Name}";
        await SubmitAsync("alice@example.test", token, rcpt);
        var received = PeerReceived(await f.Unsigned.WaitForMessageAsync(token, Wait));
        Assert.Matches($@"\(using TLSv1\.3 with cipher .* by {Regex.Escape(TestBed.Unsigned.Mx)} \(Postfix\) with ESMTPS id ", received);
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        // The TLSA record of an insecure zone is ignored: opportunistic TLS, not DANE.
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(TestBed.Unsigned.Mx)}\[{Regex.Escape(Ip(TestBed.Unsigned))}\] delivered tls=encrypted TLSv1\.3 ", log);
        Assert.DoesNotContain("tls=dane", log);
    }

    [Fact]
    public async Task PlainHostsGetTheMailInPlaintextAndWeakHostsOverWeakTlsUnderTheDefaultLevel()
    {
        var token = Token();
        string plain = $"{token}@{TestBed.Plain.Name}", weak = $"{token}@{TestBed.Weak.Name}";
        var weakLogBefore = f.Weak.MailLog.Length;
        await SubmitAsync("alice@example.test", token, plain, weak);

        var plainReceived = PeerReceived(await f.Plain.WaitForMessageAsync(token, Wait));
        Assert.Contains($"by {TestBed.Plain.Mx} (Postfix) with ESMTP id", plainReceived);
        Assert.DoesNotContain("using TLS", plainReceived);
        // A peer with only TLS 1.0 and CBC gets TLS 1.0 under "dane" without TLSA: any encryption beats none (RFC 7435).
        var weakReceived = PeerReceived(await f.Weak.WaitForMessageAsync(token, Wait));
        Assert.Matches(@"\(using TLSv1 with cipher AES(128|256)-SHA ", weakReceived);
        Assert.Contains($"by {TestBed.Weak.Mx} (Postfix) with ESMTPS id", weakReceived);
        Assert.DoesNotContain("lost connection after STARTTLS", f.Weak.MailLog[weakLogBefore..]);

        var plainLog = await RecipientLogAsync(plain, "delivered");
        var weakLog = await RecipientLogAsync(weak, "delivered");
        Output?.WriteLine(plainLog.TrimEnd() + "\n" + weakLog.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(plain)}> relay={Regex.Escape(TestBed.Plain.Mx)}\[{Regex.Escape(Ip(TestBed.Plain))}\] delivered tls=none \(250 ", plainLog);
        Assert.Matches($@"to=<{Regex.Escape(weak)}> relay={Regex.Escape(TestBed.Weak.Mx)}\[{Regex.Escape(Ip(TestBed.Weak))}\] delivered tls=encrypted TLSv1 TLS_RSA_WITH_AES_(128|256)_CBC_SHA weak \(250 ", weakLog);
    }

    [Fact]
    public async Task MandatorySenderDomainDefersPlainAndWeakThenBouncesThemWithOneDelayAndOneFailureDsnWhileDaneStillDelivers()
    {
        const string dave = "dave@strict.test";
        await f.Mx.CliOk("policy", "outbound", "strict.test", "mandatory");
        string tPlain = Token(), tWeak = Token(), tDane = Token();
        string plain = $"{tPlain}@{TestBed.Plain.Name}", weak = $"{tWeak}@{TestBed.Weak.Name}", dane = $"{tDane}@{TestBed.DaneOk.Name}";
        var idPlain = await SubmitAsync(dave, tPlain, plain);
        var idWeak = await SubmitAsync(dave, tWeak, weak);
        await SubmitAsync(dave, tDane, dane);

        // DANE satisfies "encrypt".
        Assert.Contains($"by {TestBed.DaneOk.Mx} (Postfix) with ESMTPS id", PeerReceived(await f.DaneOk.WaitForMessageAsync(tDane, Wait)));
        Assert.Matches($@"to=<{Regex.Escape(dane)}> relay={Regex.Escape(TestBed.DaneOk.Mx)}\[\S+\] delivered tls=dane TLSv1\.3 ", await RecipientLogAsync(dane, "delivered"));

        var plainError = await WaitForDeferredAsync(idPlain, plain);
        var weakError = await WaitForDeferredAsync(idWeak, weak);
        Output?.WriteLine($"queue, {plain}: {plainError}\nqueue, {weak}: {weakError}");
        Assert.Equal($"4.7.4 TLS is required, but was not offered by host {TestBed.Plain.Mx}[{Ip(TestBed.Plain)}] (TLS level encrypt (from sender domain strict.test))", plainError);
        Assert.StartsWith($"4.7.5 TLS handshake with {TestBed.Weak.Mx}[{Ip(TestBed.Weak)}] failed: TLS 1.2 or newer with secure ciphers ", weakError);
        Assert.Contains(" could not be negotiated (", weakError);
        Assert.EndsWith("(TLS level encrypt (from sender domain strict.test))", weakError);

        foreach (var (token, rcpt, id, status, reason, peer) in new[]
        {
            (tPlain, plain, idPlain, "7.4", $"TLS is required, but was not offered by host {TestBed.Plain.Mx}", f.Plain),
            (tWeak, weak, idWeak, "7.5", $"TLS handshake with {TestBed.Weak.Mx}", f.Weak),
        })
        {
            var dsns = await WaitForDsnsAsync(dave, token, 2);
            var delayed = Assert.Single(dsns, d => RecipientGroup(d)["Action"] == "delayed");
            var failed = Assert.Single(dsns, d => RecipientGroup(d)["Action"] == "failed");
            var delayedGroup = RecipientGroup(delayed);
            Assert.Equal("4." + status, delayedGroup["Status"]);
            Assert.NotNull(delayedGroup["Will-Retry-Until"]);
            var failedGroup = RecipientGroup(failed);
            Assert.Equal("5." + status, failedGroup["Status"]);
            Assert.Contains(rcpt, failedGroup["Final-Recipient"]);
            foreach (var dsn in new[] { delayed, failed })
            {
                var text = Collapsed(dsn);
                Assert.Contains(reason, text);
                Assert.Contains(AboutTls, text);
                Assert.Contains(WhatYouCanDo, text);
            }
            Assert.Contains("mandatory TLS could not be met within 8s", Collapsed(failed));
            Output?.WriteLine($"--- failure DSN for {rcpt} (text part) ---\n{failed.TextBody}");

            // The failure removed the message: no further DSN can follow.
            Assert.DoesNotContain(await f.Mx.QueueListAsync(), m => (string?)m!["id"] == id);
            Assert.Equal(2, Dsns(dave, token).Count);
            AssertNotAtPeer(peer, token);
            var log = await RecipientLogAsync(rcpt, "failed");
            Assert.Matches($@"to=<{Regex.Escape(rcpt)}>{Relay} failed tls=none \(554 5\.{Regex.Escape(status)} mandatory TLS could not be met within 8s", log);
        }
    }

    [Fact]
    public async Task MandatoryAccountDefersThatAccountsMailOnlyAndPolicyShowNamesTheAccountAsDeciding()
    {
        const string bob = "bob@example.test", carol = "carol@example.test";
        await f.Mx.CliOk("policy", "outbound", bob, "mandatory");

        // bob without a login: the hosted mailbox of the envelope sender counts.
        string tBob = Token(), tCarol = Token(), tLogin = Token();
        string bobRcpt = $"{tBob}@{TestBed.Plain.Name}", carolRcpt = $"{tCarol}@{TestBed.Plain.Name}", loginRcpt = $"{tLogin}@{TestBed.Plain.Name}";
        var idBob = await SendmailAsync(bob, tBob, bobRcpt);
        await SendmailAsync(carol, tCarol, carolRcpt);
        // bob logged in on the submission port: the account counts.
        string idLogin;
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, bob))
        {
            idLogin = await client.SendAsync(SubmissionClient.Message(tLogin, bob, loginRcpt), bob, loginRcpt);
        }

        Assert.Contains($"by {TestBed.Plain.Mx} (Postfix) with ESMTP id", PeerReceived(await f.Plain.WaitForMessageAsync(tCarol, Wait)));
        Assert.Matches($@"from=<carol@example\.test>{Account} to=<{Regex.Escape(carolRcpt)}> relay={Regex.Escape(TestBed.Plain.Mx)}\[\S+\] delivered tls=none ", await RecipientLogAsync(carolRcpt, "delivered"));

        foreach (var (id, rcpt) in new[] { (idBob, bobRcpt), (idLogin, loginRcpt) })
        {
            var error = await WaitForDeferredAsync(id, rcpt);
            Assert.Equal($"4.7.4 TLS is required, but was not offered by host {TestBed.Plain.Mx}[{Ip(TestBed.Plain)}] (TLS level encrypt (from sender account bob@example.test))", error);
        }
        var byAccount = await f.Mx.DeliveryLogAsync(Regex.Escape(idLogin) + ".*deferred", "--account", bob);
        Output?.WriteLine("securemx log --account bob@example.test:\n" + byAccount.TrimEnd());
        Assert.Matches($@"{idLogin} from=<bob@example\.test> account=bob@example\.test to=<{Regex.Escape(loginRcpt)}>{Relay} deferred tls=none \(451 4\.7\.4 TLS is required, but was not offered by host {Regex.Escape(TestBed.Plain.Mx)}", byAccount);
        Assert.DoesNotContain(idBob, byAccount); // sendmail has no login
        Assert.Contains(idBob, await f.Mx.DeliveryLogAsync(Regex.Escape(idBob), "--sender", bob));
        AssertNotAtPeer(f.Plain, tBob);
        AssertNotAtPeer(f.Plain, tLogin);

        var show = await f.Mx.Cli("policy", "show", bob);
        Assert.True(show.ExitCode == 0, show.All);
        Output?.WriteLine("securemx policy show bob@example.test:\n" + show.StdOut.TrimEnd());
        Assert.Contains("outbound: mandatory (account setting)", show.StdOut);
        Assert.Matches(@"mail from this account: encrypt \(strictest of:\)", show.StdOut);
        Assert.Matches(@"encrypt\s+from sender account bob@example\.test\s+<- decides", show.StdOut);
        var carolShow = await f.Mx.Cli("policy", "show", carol);
        Assert.Matches(@"mail from this account: dane \(strictest of:\)", carolShow.StdOut);
        Assert.DoesNotContain("sender account", carolShow.StdOut);
    }

    [Fact]
    public async Task DestinationPolicyChangeAppliesToTheRunningServerWithoutRestart()
    {
        var pid = f.Mx.Pid;
        var token = Token();
        var rcpt = $"{token}@{TestBed.Plain.Name}";
        await f.Mx.CliOk("policy", "destination", TestBed.Plain.Name, "encrypt");
        string id;
        try
        {
            id = await SubmitAsync("alice@example.test", token, rcpt);
            var error = await WaitForDeferredAsync(id, rcpt);
            Assert.Equal($"4.7.4 TLS is required, but was not offered by host {TestBed.Plain.Mx}[{Ip(TestBed.Plain)}] (TLS level encrypt (from destination {TestBed.Plain.Name}))", error);
            AssertNotAtPeer(f.Plain, token);
        }
        finally
        {
            await f.Mx.CliOk("policy", "destination", TestBed.Plain.Name, "remove");
        }
        await f.Mx.CliOk("queue", "retry", "--all");

        var received = PeerReceived(await f.Plain.WaitForMessageAsync(token, Wait));
        Assert.Contains($"by {TestBed.Plain.Mx} (Postfix) with ESMTP id", received);
        Assert.DoesNotContain("using TLS", received);
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}>{Relay} deferred tls=none \(451 4\.7\.4 TLS is required, but was not offered by host {Regex.Escape(TestBed.Plain.Mx)}", log);
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(TestBed.Plain.Mx)}\[\S+\] delivered tls=none \(250 ", log);
        Assert.Equal(pid, f.Mx.Pid);
        Assert.DoesNotContain(await f.Mx.QueueListAsync(), m => (string?)m!["id"] == id);
        Assert.DoesNotContain(Dsns("alice@example.test", token), d => RecipientGroup(d)["Action"] == "failed");
    }

    [Fact]
    public async Task ProbeReportsDaneAndMandatoryTlsVerdicts()
    {
        var human = await f.Mx.Cli("probe", TestBed.DaneOk.Name);
        Assert.True(human.ExitCode == 0, human.All);
        Output?.WriteLine($"$ securemx probe {TestBed.DaneOk.Name}\n" + human.StdOut.TrimEnd());

        var ok = await ProbeJsonAsync(TestBed.DaneOk.Name);
        Assert.Equal(TestBed.DaneOk.Name, (string?)ok["domain"]);
        Assert.True((bool)ok["daneVerifies"]!, ok.ToJsonString());
        Assert.True((bool)ok["mandatoryTlsWorks"]!, ok.ToJsonString());
        var host = Assert.Single(ok["addresses"]!.AsArray())!;
        Assert.Equal(TestBed.DaneOk.Mx, (string?)host["host"]);
        Assert.Equal(Ip(TestBed.DaneOk), (string?)host["address"]);
        Assert.True((bool)host["startTls"]!);
        Assert.True((bool)host["strictTls"]!);
        Assert.True((bool)host["daneVerified"]!);
        Assert.Equal(f.OkCert.LeafSpkiSha256, (string?)host["spkiSha256"]);
        Assert.Contains(f.OkCert.TlsaDaneEe, host["tlsaRecords"]!.AsArray().Select(t => (string?)t), StringComparer.OrdinalIgnoreCase);
        Assert.Contains(f.OkCert.LeafSpkiSha256, human.StdOut);

        var plain = await ProbeJsonAsync(TestBed.Plain.Name);
        Assert.False((bool)plain["mandatoryTlsWorks"]!, plain.ToJsonString());
        Assert.Contains("no STARTTLS", (string?)plain["mandatoryTlsVerdict"]);
        Assert.False((bool)Assert.Single(plain["addresses"]!.AsArray())!["startTls"]!);

        // What opportunistic delivery gets from a TLS 1.0-only peer (weak TLS), and why mandatory TLS would not.
        var weak = await ProbeJsonAsync(TestBed.Weak.Name);
        Assert.False((bool)weak["mandatoryTlsWorks"]!, weak.ToJsonString());
        var weakHost = Assert.Single(weak["addresses"]!.AsArray())!;
        Assert.Equal("TLSv1", (string?)weakHost["protocol"]);
        Assert.False((bool)weakHost["strictTls"]!);
        Assert.Contains(": only TLSv1 with TLS_RSA_WITH_AES_", (string?)weak["mandatoryTlsVerdict"]);

        var bad = await ProbeJsonAsync(TestBed.DaneBad.Name);
        Assert.False((bool)bad["daneVerifies"]!, bad.ToJsonString());
        var badHost = Assert.Single(bad["addresses"]!.AsArray())!;
        Assert.False((bool)badHost["daneVerified"]!);
        Assert.Equal(f.BadCert.LeafSpkiSha256, (string?)badHost["spkiSha256"]);
    }

    [Fact]
    public async Task TlsReportsCountDaneSuccessTlsaMismatchBogusTlsaAndPlaintextByTheirRfc8460ResultTypes()
    {
        var token = Token();
        string ok = $"{token}@{TestBed.DaneOk.Name}", bad = $"{token}@{TestBed.DaneBad.Name}", servfail = $"{token}@{TestBed.TlsaServfail.Name}",
            plain = $"{token}@{TestBed.Plain.Name}";
        var id = await SubmitAsync("alice@example.test", token, ok, bad, servfail, plain);
        await f.DaneOk.WaitForMessageAsync(token, Wait);
        await f.Plain.WaitForMessageAsync(token, Wait);
        await WaitForDeferredAsync(id, bad);
        await WaitForDeferredAsync(id, servfail);

        // DANE verified: a tlsa success, the TLSA record as policy-string.
        var okReport = await f.Mx.WaitForReportAsync(TestBed.DaneOk.Name, r => r.Policies("tlsa").Any(p => p.Successful() >= 1), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.DaneOk.Name}\n{okReport.ToJsonString()}");
        var verified = Assert.Single(okReport.Policies("tlsa"));
        Assert.Equal([f.OkCert.TlsaDaneEe], verified["policy"]!["policy-string"]!.AsArray().Select(l => (string?)l));
        Assert.Equal(TestBed.DaneOk.Name, (string?)verified["policy"]!["policy-domain"]);
        Assert.Null(verified["failure-details"]);

        // No TLSA record matched: tlsa-invalid, with the host, its address and ours.
        var badReport = await f.Mx.WaitForReportAsync(TestBed.DaneBad.Name, r => r.Policies("tlsa").Any(p => p.Failures("tlsa-invalid").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.DaneBad.Name}\n{badReport.ToJsonString()}");
        var mismatch = Assert.Single(badReport.Policies("tlsa"));
        Assert.Equal([f.UnrelatedCert.TlsaDaneEe], mismatch["policy"]!["policy-string"]!.AsArray().Select(l => (string?)l));
        Assert.Equal(0, mismatch.Successful());
        var invalid = Assert.Single(mismatch["failure-details"]!.AsArray())!;
        Assert.Equal(("tlsa-invalid", TestBed.DaneBad.Mx, Ip(TestBed.DaneBad)), ((string?)invalid["result-type"], (string?)invalid["receiving-mx-hostname"], (string?)invalid["receiving-ip"]));
        Assert.NotNull((string?)invalid["sending-mta-ip"]);
        Assert.Contains("no TLSA record matched", (string?)invalid["failure-reason-code"]);
        Assert.Equal(mismatch.Failed(), (long)invalid["failed-session-count"]!);

        // The TLSA lookup came back bogus (SERVFAIL from the validating resolver): dnssec-invalid, no connection, so no address.
        var servfailReport = await f.Mx.WaitForReportAsync(TestBed.TlsaServfail.Name, r => r.Policies("tlsa").Any(p => p.Failures("dnssec-invalid").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.TlsaServfail.Name}\n{servfailReport.ToJsonString()}");
        var bogus = Assert.Single(Assert.Single(servfailReport.Policies("tlsa")).Failures("dnssec-invalid"));
        Assert.Equal(TestBed.TlsaServfail.Mx, (string?)bogus["receiving-mx-hostname"]);
        Assert.Null(bogus["receiving-ip"]);
        Assert.Contains($"TLSA lookup error for {TestBed.TlsaServfail.Tlsa.Owner}", (string?)bogus["failure-reason-code"]);

        // No STARTTLS and no policy: a failure to negotiate TLS under no-policy-found.
        var plainReport = await f.Mx.WaitForReportAsync(TestBed.Plain.Name, r => r.Policies("no-policy-found").Any(p => p.Failures("starttls-not-supported").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.Plain.Name}\n{plainReport.ToJsonString()}");
        var none = Assert.Single(Assert.Single(plainReport.Policies("no-policy-found")).Failures("starttls-not-supported"));
        Assert.Equal((TestBed.Plain.Mx, Ip(TestBed.Plain)), ((string?)none["receiving-mx-hostname"], (string?)none["receiving-ip"]));
    }

    private async Task<JsonObject> ProbeJsonAsync(string domain)
    {
        var r = await f.Mx.Cli("probe", domain, "--json");
        Assert.True(r.ExitCode == 0, r.All);
        Output?.WriteLine($"$ securemx probe {domain} --json\n{r.StdOut.TrimEnd()}");
        return JsonNode.Parse(r.StdOut)!.AsObject();
    }
}
