using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// Inbound mandatory TLS, seen from outside: the secure MX listener (STARTTLS required, strict TLS
/// profile), the per-domain policy on every listener, the session log, and the DNS records that a
/// DANE-checking sender (Postfix) verifies end to end. See <see cref="InboundTlsFixture"/> for the set-up.
/// </summary>
public sealed partial class InboundMandatoryTlsTests(InboundTlsFixture f) : IClassFixture<InboundTlsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static string Secure => InboundTlsFixture.SecureDomain;
    private const string Open = InboundTlsFixture.OpenDomain;
    private const string MustStartTls = "530 5.7.0 Must issue a STARTTLS command first";

    private static void Note(string text) => TestContext.Current.TestOutputHelper?.WriteLine(text);

    /// <summary>The refusal of a recipient of a mandatory domain in a session without TLS (README, "Mandatory TLS and DANE").</summary>
    private static string PlaintextRefusal(string rcpt) =>
        $"550 5.7.1 <{rcpt}>: {rcpt[(rcpt.IndexOf('@') + 1)..]} accepts mail only over TLS 1.2 or newer with secure ciphers; this session is not encrypted. Use STARTTLS";

    private static string Message(string to, string token) =>
        $"From: sender@outside.example\r\nTo: {to}\r\nSubject: inbound {token}\r\nMessage-ID: <{token}@outside.example>\r\n\r\nbody {token}\r\n";

    [Fact]
    public async Task OrdinaryMxRefusesPlaintextRcptForTheMandatoryDomainButAcceptsTheOtherDomainAndDeliversAfterStartTls()
    {
        Note($"fixture on {f.Net} started in {f.StartTime.TotalSeconds:F1} s");
        var plainToken = Guid.NewGuid().ToString("N");
        await using (var s = await RawSmtp.ConnectAsync(f.OrdinaryMx))
        {
            Assert.StartsWith($"220 {InboundTlsFixture.Hostname} ", string.Join("\n", await s.ReadReplyAsync()));
            Assert.Matches(@"(?m)^250[- ]STARTTLS$", await s.CommandAsync("EHLO client.outside.example"));
            Assert.StartsWith("250 ", await s.CommandAsync("MAIL FROM:<sender@outside.example>"));
            Assert.Equal(PlaintextRefusal($"user@{Secure}"), await s.CommandAsync($"RCPT TO:<user@{Secure}>"));
            // checked before the mailbox lookup: an unknown address gets the same answer, not 550 5.1.1
            Assert.Equal(PlaintextRefusal($"nobody@{Secure}"), await s.CommandAsync($"RCPT TO:<nobody@{Secure}>"));
            Assert.StartsWith("250 2.1.5 ", await s.CommandAsync($"RCPT TO:<user@{Open}>"));
            Assert.StartsWith("354 ", await s.CommandAsync("DATA"));
            Assert.StartsWith("250 2.0.0 ", await s.CommandAsync(Message($"user@{Open}", plainToken) + "."));
            await s.CommandAsync("QUIT");
        }
        var plain = Encoding.UTF8.GetString(await f.Mx.WaitForMessageAsync($"user@{Open}", plainToken));
        Assert.DoesNotContain("using TLS", plain);

        // the same recipient, same listener, after STARTTLS (swaks: TLS 1.3 unless told otherwise)
        var token = Guid.NewGuid().ToString("N");
        var r = await Run.ProcessAsync("swaks", ["--server", Net.Text(f.OrdinaryMx), "--tls", "--from", "sender@outside.example", "--to", $"user@{Secure}",
            "--ehlo", "client.outside.example", "--header", $"Subject: inbound {token}", "--timeout", "30"]);
        Assert.True(r.ExitCode == 0, "swaks --tls to the ordinary MX: " + r.All);
        Assert.Contains("TLS started with cipher TLSv1.3", r.All);
        Assert.Contains($"250 2.1.5 <user@{Secure}>", r.All);
        var (trace, _) = SecureMxInstance.SplitDelivered(await f.Mx.WaitForMessageAsync($"user@{Secure}", token));
        Assert.Contains("(using TLSv1.3 with cipher TLS_", trace);
        Assert.Contains(" with ESMTPS id ", trace);
        // the plaintext message went to open.test only
        Assert.DoesNotContain(f.Mx.Messages($"user@{Secure}"), m => File.ReadAllText(m).Contains(plainToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OrdinaryMxRefusesTheMandatoryDomainInATlsSessionWithACbcCipherNamingProtocolAndCipher()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(f.OrdinaryMx);
        await c.CommandAsync("EHLO client.outside.example");
        // the ordinary MX (opportunistic profile) does accept this handshake ...
        await c.StartTlsAsync(InboundTlsFixture.Hostname, SslProtocols.Tls12, [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256]);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, c.Tls!.NegotiatedCipherSuite);
        Assert.StartsWith("250", await c.CommandAsync("EHLO client.outside.example"));
        Assert.StartsWith("250 ", await c.CommandAsync("MAIL FROM:<sender@outside.example>"));
        // ... but it is not "secure TLS", so the mandatory domain refuses it and says why
        var refused = await c.CommandAsync($"RCPT TO:<user@{Secure}>");
        Assert.StartsWith($"550 5.7.1 <user@{Secure}>: {Secure} accepts mail only over TLS 1.2 or newer with secure ciphers; ", refused);
        Assert.Contains("TLSv1.2", refused);
        Assert.Contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", refused);
        Assert.StartsWith("250 2.1.5 ", await c.CommandAsync($"RCPT TO:<user@{Open}>"));
        Note("weak-cipher refusal: " + refused);
    }

    [Fact]
    public async Task SecureMxAnswers530ToMailRcptDataBdatAuthAndVrfyBeforeStartTlsAndAcceptsTheMandatoryDomainAfterIt()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(f.SecureMx);
        Assert.StartsWith($"220 {InboundTlsFixture.SecureMxHostname} ", c.Greeting);
        var ehlo = await c.CommandAsync("EHLO client.outside.example");
        Assert.StartsWith($"250-{InboundTlsFixture.SecureMxHostname} ", ehlo);
        Assert.Matches(@"(?m)^250[- ]STARTTLS$", ehlo);
        foreach (var command in new[] { "MAIL FROM:<sender@outside.example>", $"RCPT TO:<user@{Secure}>", "DATA", "BDAT 0 LAST", "AUTH PLAIN", $"VRFY user@{Secure}" })
        {
            Assert.True(await c.CommandAsync(command) == MustStartTls, $"{command} before STARTTLS on the secure MX must get '{MustStartTls}'");
        }
        Assert.StartsWith("250", await c.CommandAsync("NOOP"));

        await c.StartTlsAsync(InboundTlsFixture.SecureMxHostname, SslProtocols.None);
        Assert.Equal(SslProtocols.Tls13, c.Tls!.SslProtocol);
        Assert.DoesNotContain("STARTTLS", await c.CommandAsync("EHLO client.outside.example"));
        Assert.StartsWith("250 ", await c.CommandAsync("MAIL FROM:<sender@outside.example>"));
        Assert.StartsWith("250 2.1.5 ", await c.CommandAsync($"RCPT TO:<user@{Secure}>"));
        var token = Guid.NewGuid().ToString("N");
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 ", await c.CommandAsync(Message($"user@{Secure}", token) + "."));
        await c.CommandAsync("QUIT");
        var (trace, _) = SecureMxInstance.SplitDelivered(await f.Mx.WaitForMessageAsync($"user@{Secure}", token));
        Assert.Contains("(using TLSv1.3 with cipher TLS_", trace);
        Assert.Contains(" with ESMTPS id ", trace);
        // Mail taken in by the secure MX says so under the secure MX's own name.
        Assert.Contains($"by {InboundTlsFixture.SecureMxHostname} (SecureMx) with ESMTPS", trace);
    }

    [Fact]
    public async Task SecureMxRefusesTls12HandshakesWithoutForwardSecretAeadCiphersAndTls11()
    {
        // control: the same client with an ECDHE+AES-GCM suite gets through, so the failures below are the server's choice
        var ok = await OpenSslAsync(f.SecureMx, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256");
        Assert.True(ok.ExitCode == 0 && ok.All.Contains("Protocol version: TLSv1.2") && ok.All.Contains("Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256"),
            "a TLS 1.2 client with ECDHE-RSA-AES128-GCM-SHA256 must be able to connect to the secure MX: " + ok.All);

        const string cbc = "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA";
        var cbcOnly = await OpenSslAsync(f.SecureMx, "-tls1_2", "-cipher", cbc);
        Assert.True(cbcOnly.ExitCode != 0 && !cbcOnly.All.Contains("CONNECTION ESTABLISHED"),
            "the secure MX completed a TLS 1.2 handshake with a client offering only CBC ciphers: " + cbcOnly.All);
        Assert.Contains("alert handshake failure", cbcOnly.All);

        var rsaKx = await OpenSslAsync(f.SecureMx, "-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384");
        Assert.True(rsaKx.ExitCode != 0 && !rsaKx.All.Contains("CONNECTION ESTABLISHED"),
            "the secure MX completed a TLS 1.2 handshake with RSA key exchange (no forward secrecy): " + rsaKx.All);

        // OpenSSL 3 sends a TLS 1.1 ClientHello only at security level 0
        var tls11 = await OpenSslAsync(f.SecureMx, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        Assert.True(tls11.ExitCode != 0 && !tls11.All.Contains("CONNECTION ESTABLISHED"),
            "the secure MX completed a TLS 1.1 handshake: " + tls11.All);
        Assert.Contains("alert protocol version", tls11.All);
        Note("CBC only: " + FirstError(cbcOnly.All) + "\nRSA key exchange: " + FirstError(rsaKx.All) + "\nTLS 1.1: " + FirstError(tls11.All));
    }

    [Fact]
    public async Task OrdinaryMxTakesMailOverTls11FromAnOldClientAndLogsItAsWeakWhileTheSecureMxRefusesIt()
    {
        // OpenSSL 3 speaks TLS 1.1 only at security level 0: an old sender. RFC 7435: TLS 1.1 beats plaintext.
        var handshake = await OpenSslAsync(f.OrdinaryMx, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        Assert.True(handshake.ExitCode == 0 && handshake.All.Contains("Protocol version: TLSv1.1"),
            "the ordinary MX (opportunistic profile) must complete a TLS 1.1 handshake: " + handshake.All);

        var token = Guid.NewGuid().ToString("N");
        var r = await Run.ProcessAsync("swaks", ["--server", Net.Text(f.OrdinaryMx), "--tls", "--tls-protocol", "tlsv1_1", "--tls-cipher", "DEFAULT@SECLEVEL=0",
            "--from", "sender@outside.example", "--to", $"user@{Open}", "--ehlo", "old.outside.example", "--header", $"Subject: inbound {token}", "--timeout", "30"]);
        Assert.True(r.ExitCode == 0, "swaks over TLS 1.1 to the ordinary MX failed: " + r.All);
        Assert.Contains("TLS started with cipher TLSv1.1", r.All);
        var (trace, _) = SecureMxInstance.SplitDelivered(await f.Mx.WaitForMessageAsync($"user@{Open}", token));
        Assert.Contains("(using TLSv1.1 with cipher TLS_", trace);
        await f.Mx.WaitForLogMatchAsync(@"weak TLS: TLSv1\.1 TLS_\w+ \(below TLS 1\.2 with ECDHE and AEAD; better than plaintext\)");

        // ... and the mandatory domain still refuses it, on the same listener
        var refused = await Run.ProcessAsync("swaks", ["--server", Net.Text(f.OrdinaryMx), "--tls", "--tls-protocol", "tlsv1_1", "--tls-cipher", "DEFAULT@SECLEVEL=0",
            "--from", "sender@outside.example", "--to", $"user@{Secure}", "--ehlo", "old.outside.example", "--timeout", "30"]);
        Assert.Contains($"550 5.7.1 <user@{Secure}>: {Secure} accepts mail only over TLS 1.2 or newer with secure ciphers; ", refused.All);

        // the secure MX does not take TLS 1.1 at all (see also SecureMxRefusesTls12HandshakesWithoutForwardSecretAeadCiphersAndTls11)
        var strict = await Run.ProcessAsync("swaks", ["--server", Net.Text(f.SecureMx), "--tls", "--tls-protocol", "tlsv1_1", "--tls-cipher", "DEFAULT@SECLEVEL=0",
            "--from", "sender@outside.example", "--to", $"user@{Secure}", "--ehlo", "old.outside.example", "--timeout", "30"]);
        Assert.True(strict.ExitCode != 0, "swaks over TLS 1.1 to the secure MX must fail: " + strict.All);
        Assert.DoesNotContain("TLS started with cipher", strict.All);
        Note("TLS 1.1 to the ordinary MX: " + handshake.All.Split('\n').FirstOrDefault(l => l.StartsWith("Ciphersuite", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RefusedRcptIsRecordedInTheSessionLog()
    {
        var fromDomain = Guid.NewGuid().ToString("N")[..12] + ".outside.example";
        await using (var s = await RawSmtp.ConnectAsync(f.OrdinaryMx))
        {
            await s.ReadReplyAsync();
            await s.CommandAsync("EHLO log.outside.example");
            await s.CommandAsync($"MAIL FROM:<probe@{fromDomain}>");
            Assert.Equal(PlaintextRefusal($"user@{Secure}"), await s.CommandAsync($"RCPT TO:<user@{Secure}>"));
            Assert.StartsWith("250", await s.CommandAsync($"RCPT TO:<user@{Open}>"));
            await s.CommandAsync("QUIT");
        }

        // the session log is written behind, in batches: poll
        var rows = await SessionLogAsync(fromDomain, 2);
        var refused = Assert.Single(rows, x => x.RecipientDomain == Secure);
        Assert.True(refused.Accepted == 0, $"the refused RCPT for {Secure} is logged as accepted={refused.Accepted}");
        Assert.Equal(PlaintextRefusal($"user@{Secure}"), refused.Reply);
        Assert.Equal("mx", refused.Listener);
        Assert.Null(refused.TlsProtocol);
        var accepted = Assert.Single(rows, x => x.RecipientDomain == Open);
        Assert.Equal(1, accepted.Accepted);
        Assert.StartsWith("250 2.1.5", accepted.Reply);
    }

    [Fact]
    public async Task InboundPolicyChangeAppliesToAnOpenSessionAtOnceAndIsAudited()
    {
        const string later = InboundTlsFixture.LaterDomain;
        await using var s = await RawSmtp.ConnectAsync(f.OrdinaryMx);
        await s.ReadReplyAsync();
        await s.CommandAsync("EHLO client.outside.example");
        await s.CommandAsync("MAIL FROM:<sender@outside.example>");
        Assert.StartsWith("250 2.1.5", await s.CommandAsync($"RCPT TO:<user@{later}>"));
        try
        {
            await f.Mx.CliOk("policy", "inbound", later, "mandatory");
            // the very next RCPT, in the session that was already open
            Assert.Equal(PlaintextRefusal($"user@{later}"), await s.CommandAsync($"RCPT TO:<user@{later}>"));
            var show = await f.Mx.Cli("policy", "show", later);
            Assert.True(show.ExitCode == 0, show.All);
            Assert.Matches(@"(?m)^\s*inbound:\s+mandatory\b", show.StdOut);
            Assert.Contains($"cli:{Environment.UserName}: {later} inbound_tls opportunistic -> mandatory", show.StdOut);
        }
        finally
        {
            await f.Mx.CliOk("policy", "inbound", later, "opportunistic");
        }
        Assert.StartsWith("250 2.1.5", await s.CommandAsync($"RCPT TO:<user@{later}>"));
        var after = await f.Mx.Cli("policy", "show", later);
        Assert.Matches(@"(?m)^\s*inbound:\s+opportunistic\b", after.StdOut);
        Assert.Contains($"cli:{Environment.UserName}: {later} inbound_tls mandatory -> opportunistic", after.StdOut);
    }

    [Fact]
    public async Task DnsRecordsPrintsTheMxAndTheTlsaOfTheCertificateTheSecureMxServes()
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(f.Mx.CertificatePath);
        var tlsa = "3 1 1 " + TestCertificates.SpkiSha256(cert);
        Assert.Equal($"{Secure}.\tIN\tMX\t10 {InboundTlsFixture.SecureMxHostname}.", f.PublishedMx);
        Assert.Equal($"_25._tcp.{InboundTlsFixture.SecureMxHostname}.\tIN\tTLSA\t{tlsa}", f.PublishedTlsa);

        // what the secure MX presents matches that record (openssl's own DANE check)
        var dane = await OpenSslAsync(f.SecureMx, "-dane_tlsa_domain", InboundTlsFixture.SecureMxHostname, "-dane_tlsa_rrdata", tlsa);
        Assert.True(dane.ExitCode == 0, dane.All);
        Assert.Contains("Verification: OK", dane.All);
        Assert.Contains($"matched EE certificate at depth 0", dane.All);
    }

    [Fact]
    public async Task DaneSenderVerifiesThePublishedRecordsAndDeliversToTheMandatoryDomainOverTheSecureMx()
    {
        var token = Guid.NewGuid().ToString("N");
        await f.Sender.InjectAsync("postmaster@" + InboundTlsFixture.SenderHostname, $"user@{Secure}", token);
        var message = Encoding.UTF8.GetString(await f.Mx.WaitForMessageAsync($"user@{Secure}", token, Wait));
        var delivery = await f.Sender.WaitForDeliveryAsync($"user@{Secure}", Wait);

        var relay = Regex.Escape($"{InboundTlsFixture.SecureMxHostname}[{f.SecureMx.Address}]:25");
        Assert.Matches($@"relay={relay},.*dsn=2\.0\.0, status=sent", delivery);
        var verified = Regex.Match(f.Sender.MailLog, $@"Verified TLS connection established to {relay}: [^\r\n]*");
        Assert.True(verified.Success, "the DANE-checking Postfix did not verify the secure MX's certificate against the published TLSA record; its log:\n" + f.Sender.MailLog);
        Assert.Matches(@"TLSv1\.[23] with cipher ", verified.Value);
        var (trace, _) = SecureMxInstance.SplitDelivered(Encoding.UTF8.GetBytes(message));
        Assert.StartsWith($"Return-Path: <postmaster@{InboundTlsFixture.SenderHostname}>\r\nReceived: from {InboundTlsFixture.SenderHostname} ([{f.SenderAddress}])", trace);
        Assert.Contains(" with ESMTPS id ", trace);
        Note("dane-sender: " + verified.Value.Trim() + "\ndane-sender: " + delivery + "\nour trace:\n" + trace);
    }

    [Fact]
    public async Task TestSslFindsOnlyTls12And13WithForwardSecretAeadCiphersOnTheSecureMx()
    {
        var started = DateTime.UtcNow;
        // -p: every protocol from SSLv2 to TLS 1.3; -E: every cipher the server accepts, per protocol
        var findings = await TestSsl.ScanAsync(Net.Text(f.SecureMx), "smtp", ["-p", "-E"], TimeSpan.FromMinutes(3));
        var summary = string.Join("\n", findings.Select(x => $"{x.Id} [{x.Severity}] {x.Finding}"));
        Note($"testssl -p -E took {(DateTime.UtcNow - started).TotalSeconds:F0} s:\n{summary}");

        // every problem at once, in an operator's terms
        var problems = new List<string>();
        foreach (var (id, name) in new[] { ("SSLv2", "SSL 2.0"), ("SSLv3", "SSL 3.0"), ("TLS1", "TLS 1.0"), ("TLS1_1", "TLS 1.1") })
        {
            var finding = findings.FirstOrDefault(x => x.Id == id);
            if (finding is null) problems.Add($"testssl did not report whether the secure MX accepts {name}.");
            else if (finding.Finding != "not offered") problems.Add($"The secure MX accepts {name}, an obsolete protocol (testssl: '{finding.Finding}'); only TLS 1.2 and 1.3 may be offered.");
        }
        foreach (var (id, name) in new[] { ("TLS1_2", "TLS 1.2"), ("TLS1_3", "TLS 1.3") })
        {
            var finding = findings.FirstOrDefault(x => x.Id == id);
            if (finding is null || !finding.Finding.StartsWith("offered", StringComparison.Ordinal))
                problems.Add($"The secure MX does not offer {name} (testssl: '{finding?.Finding ?? "no finding"}'); senders need it.");
        }

        // "TLS 1.2   xc030   ECDHE-RSA-AES256-GCM-SHA384       ECDH 253   AESGCM      256      TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        var cipherLine = new Regex(@"^(?<proto>TLS 1\.\d|SSLv\d)\s+x[0-9a-f]+\s+(?<name>\S+)\s+(?<kx>\S+(?: \d+)?)\s+(?<enc>\S+)\s+\d+\s+(?<iana>\S+)");
        var ciphers = findings.Where(x => x.Id.StartsWith("cipher-", StringComparison.Ordinal) || x.Id.StartsWith("cipher_", StringComparison.Ordinal)).ToList();
        if (ciphers.Count == 0) problems.Add("testssl found no cipher at all on the secure MX.");
        foreach (var c in ciphers)
        {
            var m = cipherLine.Match(c.Finding);
            if (!m.Success)
            {
                problems.Add($"unexpected testssl cipher line: {c.Finding}");
                continue;
            }
            var (proto, name, kx, enc, iana) = (m.Groups["proto"].Value, m.Groups["name"].Value, m.Groups["kx"].Value, m.Groups["enc"].Value, m.Groups["iana"].Value);
            var what = $"The secure MX accepts {name} ({iana}) over {proto}";
            if (proto is not ("TLS 1.2" or "TLS 1.3"))
                problems.Add($"{what}: only TLS 1.2 and 1.3 are allowed.");
            if (!kx.StartsWith("ECDH", StringComparison.Ordinal))
                problems.Add($"{what} with key exchange '{kx}': without ECDHE there is no forward secrecy, so recorded mail could be decrypted later with the server's private key.");
            if (enc is not ("AESGCM" or "ChaCha20") || iana.Contains("_CBC_", StringComparison.Ordinal))
                problems.Add($"{what} with encryption '{enc}': only AEAD ciphers (AES-GCM, ChaCha20-Poly1305) are allowed; CBC modes are the target of padding-oracle attacks.");
            if (iana.EndsWith("_SHA", StringComparison.Ordinal))
                problems.Add($"{what}, which protects records with HMAC-SHA1.");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n\ntestssl findings:\n" + summary);
        Note("ciphers offered: " + string.Join(", ", ciphers.Select(c => cipherLine.Match(c.Finding) is { Success: true } m ? $"{m.Groups["proto"].Value} {m.Groups["iana"].Value}" : c.Finding)));
    }

    /// <summary>openssl s_client -starttls smtp against <paramref name="server"/> (-brief: "Protocol version", "Ciphersuite" on success); stdin is closed, so it ends after the handshake.</summary>
    private static Task<ProcessResult> OpenSslAsync(IPEndPoint server, params string[] options) =>
        Run.ProcessAsync("openssl", ["s_client", "-starttls", "smtp", "-connect", Net.Text(server), "-brief", .. options], timeout: TimeSpan.FromSeconds(30));

    private static string FirstError(string output) =>
        output.Split('\n').FirstOrDefault(l => l.Contains("error:", StringComparison.Ordinal))?.Trim() ?? output.Trim();

    private sealed record SessionLogRow(string Listener, string RecipientDomain, long Accepted, string Reply, string? TlsProtocol);

    /// <summary>Rows of inbound_recipients (with their session's listener) for sessions whose MAIL FROM domain is <paramref name="fromDomain"/>; waits for at least <paramref name="count"/>.</summary>
    private async Task<List<SessionLogRow>> SessionLogAsync(string fromDomain, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var rows = new List<SessionLogRow>();
            using (var c = new SqliteConnection($"Data Source={Path.Combine(f.Mx.DataDir, "securemx.db")};Mode=ReadOnly;Pooling=False"))
            {
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = """
                    SELECT s.listener, r.recipient_domain, r.accepted, r.reply, r.tls_protocol
                    FROM inbound_recipients r JOIN inbound_sessions s ON s.id = r.session_id
                    WHERE r.mail_from_domain = $from ORDER BY r.at
                    """;
                cmd.Parameters.AddWithValue("$from", fromDomain);
                using var reader = cmd.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add(new SessionLogRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
                }
            }
            if (rows.Count >= count) return rows;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{rows.Count} of {count} session log rows for MAIL FROM @{fromDomain} after 15 s; server log:\n{f.Mx.Log}");
            await Task.Delay(100);
        }
    }
}
