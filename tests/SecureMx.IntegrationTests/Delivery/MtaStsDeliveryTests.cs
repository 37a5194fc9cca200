using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailKit.Security;
using SecureMx.IntegrationTests.Support;
using SecureMx.MtaSts;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// Outbound MTA-STS (RFC 8461) on the DNSSEC test bed with HTTPS policy hosts (<see cref="MtaStsFixture"/>):
/// a running SecureMx discovers each domain's policy ("_mta-sts" TXT, then HTTPS with its private CAs as
/// delivery.trustAnchorsFile), caches it, and enforces it: enforce with a listed MX and a valid certificate
/// delivers with verification mta-sts; an unlisted MX or an invalid certificate is deferred naming the policy
/// with nothing sent; testing delivers and records the failure; a cached enforce policy outlives its host;
/// an expired one does not; DNSSEC-secure TLSA (DANE) wins over MTA-STS; an oversized or trickled policy is
/// refused within the limits, and delivery goes on as without MTA-STS. The Postfix peers' logs and the
/// policy hosts' request logs are the independent witnesses. The last test prints the measured table
/// "domain × policy → outcome" (<c>--output Detailed</c>).
/// </summary>
[TestMethodOrderer(typeof(DeclarationOrder))]
public sealed class MtaStsDeliveryTests(MtaStsFixture f) : IClassFixture<MtaStsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    private static string Token() => "t" + Guid.NewGuid().ToString("N")[..12];

    private string Ip(TestBedZone zone) => f.Dns.AddressOf(zone.Mx).ToString();

    private PostfixPeer Peer(TestBedZone zone) => f.Peers[zone.Name];

    private MtaStsPolicyHost Host(TestBedZone zone) => f.PolicyHosts[zone.Name];

    /// <summary>Sends as alice on the submissions port (a running server delivers it at once); returns the queue id.</summary>
    private async Task<string> SubmitAsync(string token, params string[] recipients)
    {
        const string sender = "alice@example.test";
        using var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, sender);
        return await client.SendAsync(SubmissionClient.Message(token, sender, recipients), sender, recipients);
    }

    /// <summary>Waits until the recipient is deferred with a last error; returns that error.</summary>
    private Task<string> WaitForDeferredAsync(string id, string recipient) => f.Mx.WaitForDeferredAsync(id, recipient, Wait);

    private Task<string> RecipientLogAsync(string recipient, string expect) => f.Mx.DeliveryLogAsync(expect, "--recipient", recipient);

    /// <summary>"tls=X" of the delivery log line of <paramref name="rcpt"/> that says <paramref name="result"/>.</summary>
    private static string Verification(string log, string rcpt, string result) =>
        Regex.Match(log, $@"to=<{Regex.Escape(rcpt)}>.* {result} tls=(\S+)").Groups[1] is { Success: true } g ? g.Value : "?";

    /// <summary>The Postfix peer's own Received header of a stored message, unfolded.</summary>
    private static string PeerReceived(string stored)
    {
        var m = Regex.Match(stored, @"^Received: .*(\n[ \t].*)*", RegexOptions.Multiline);
        Assert.True(m.Success, "no Received header in:\n" + stored);
        return Regex.Replace(m.Value, @"\r?\n[ \t]+", " ");
    }

    /// <summary>The id of the zone's "_mta-sts" TXT record (dns-testbed.zones).</summary>
    private static string TxtId(TestBedZone zone) =>
        MtaStsTxtRecord.Parse(zone.Records.Single(r => r.Type == "TXT" && r.Owner == MtaStsTxtRecord.OwnerName(zone.Name)).Data.Trim('"')).Record!.Id;

    /// <summary>Removes a message the test leaves deferred, so that its retries do not run on beside the later tests.</summary>
    private Task DeleteAsync(string id) => f.Mx.CliOk("queue", "delete", id);

    private static int Connects(string mailLog) => Regex.Count(mailLog, @"smtpd\[\d+\]: connect from");

    private static void AssertNotAtPeer(PostfixPeer peer, string token) =>
        Assert.DoesNotContain(peer.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));

    /// <summary>How reasons name a domain's policy: "the MTA-STS policy of D (MODE, id ID)", the id from its TXT record.</summary>
    private static string PolicyName(TestBedZone zone, MtaStsMode mode = MtaStsMode.Enforce) =>
        $"the MTA-STS policy of {zone.Name} ({mode.Name()}, id {TxtId(zone)})";

    /// <summary>A deferral (4.7.x) that names the domain's enforce policy.</summary>
    private static void AssertNamesThePolicy(string error, TestBedZone zone)
    {
        Assert.StartsWith("4.7.", error);
        Assert.Contains(PolicyName(zone), error);
    }

    /// <summary>The "mta-sts-failure: TYPE: DETAIL" of a delivery log line (RFC 8460 result type first), or null.</summary>
    private static string? StsFailure(string log, string rcpt, string result) =>
        Regex.Match(log, $@"to=<{Regex.Escape(rcpt)}>.* {result} tls=.* mta-sts-failure: (.*) \(\d{{3}} ") is { Success: true } m ? m.Groups[1].Value : null;

    private void Record(TestBedZone zone, string @case, string result, string verification, TimeSpan elapsed, string detail)
    {
        var policy = f.Policies[zone.Name];
        var text = $"{policy.Mode.Name()}, mx: {string.Join(" ", policy.Mx)}, max_age {policy.MaxAge.TotalSeconds:0}";
        var served = Encoding.UTF8.GetByteCount(f.ServedText(zone));
        if (served > MtaStsPolicy.MaxBodyBytes) text += $", padded to {served} bytes";
        var row = new MtaStsOutcome(zone.Name, text, @case, result, verification, elapsed, detail.Length <= 110 ? detail : detail[..110] + "…");
        f.Outcomes[zone.Name] = row;
        Output?.WriteLine($"{row.Domain} | {row.Policy} | {row.Case} | {row.Result} | {row.Verification} | {row.Elapsed.TotalSeconds:F1} s | {row.Detail}");
    }

    [Fact]
    public async Task TheTestBedPublishesEachPolicyAndItsHostServesItByServerName()
    {
        Output?.WriteLine($"test bed on {f.Net}, {MtaStsFixture.Domains.Length} Postfix peers, {MtaStsFixture.Domains.Length} policy hosts and SecureMx started in {f.StartTime.TotalSeconds:F1} s ({f.StartDetail})");
        foreach (var zone in MtaStsFixture.Domains)
        {
            var dig = await Run.ProcessAsync("dig", ["+dnssec", "+time=2", "+tries=2", "+noall", "+comments", "+answer", $"@{f.Dns.Resolver.Address}", MtaStsTxtRecord.OwnerName(zone.Name), "TXT"]);
            Assert.True(dig.ExitCode == 0, dig.All);
            Assert.Matches(@";; flags:[^;]* ad[ ;]", dig.StdOut);
            var txt = Regex.Match(dig.StdOut, @"\sTXT\s+""([^""]*)""").Groups[1].Value;
            var (record, error) = MtaStsTxtRecord.Select([txt]);
            Assert.True(record is not null, $"{txt}: {error}");
        }

        // The host presents the certificate of the SNI name (which the trust anchors file vouches for) and serves the policy.
        var zoneOk = TestBed.StsEnforce;
        var name = MtaStsFixture.PolicyHostName(zoneOk);
        var before = Host(zoneOk).Requests.Count;
        var (status, body, presented) = await GetAsync(Host(zoneOk).Endpoint, name, MtaStsPolicyHost.PolicyPath);
        Assert.Equal(200, status);
        Assert.Equal(f.Policies[zoneOk.Name].ToText(), body);
        var (parsed, parseError) = MtaStsPolicy.Parse(body);
        Assert.True(parsed is not null, parseError);
        Assert.Equal((MtaStsMode.Enforce, MtaStsFixture.LongMaxAge), (parsed.Mode, parsed.MaxAge));
        Assert.Equal([zoneOk.Mx], parsed.Mx);
        Assert.Equal(name, presented.GetNameInfo(X509NameType.DnsName, false));
        var request = Assert.Single(Host(zoneOk).Requests.Skip(before));
        Assert.Equal((name, name, "GET", 200), (request.ServerName, request.Host, request.Method, request.Status));
        Assert.Equal(404, (await GetAsync(Host(zoneOk).Endpoint, name, "/.well-known/other.txt")).Status);

        // A name the host has no certificate for: no handshake.
        await Assert.ThrowsAnyAsync<Exception>(() => GetAsync(Host(zoneOk).Endpoint, MtaStsFixture.PolicyHostName(TestBed.StsBadMx), MtaStsPolicyHost.PolicyPath));
    }

    /// <summary>One HTTPS GET with <paramref name="serverName"/> as SNI and Host, trusting the fixture's anchors only.</summary>
    private async Task<(int Status, string Body, X509Certificate2 Presented)> GetAsync(IPEndPoint endpoint, string serverName, string path)
    {
        var anchors = new X509Certificate2Collection();
        anchors.ImportFromPemFile(f.TrustAnchorsFile);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint.Address, endpoint.Port);
        await using var tls = new SslStream(tcp.GetStream());
        X509Certificate2? presented = null;
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
            {
                presented = new X509Certificate2(cert!);
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.AddRange(anchors);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (chain is not null) custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
                return custom.Build(presented) && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
            },
        });
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {serverName}\r\nUser-Agent: {MtaStsPolicyHost.TestAgent}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var statusCode = int.Parse(response.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (statusCode, response[(split + 4)..], presented!);
    }

    [Fact]
    public async Task EnforceWithAListedMxAndAValidCertificateIsDeliveredAndLoggedMtaSts()
    {
        var zone = TestBed.StsEnforce;
        var policyHost = MtaStsFixture.PolicyHostName(zone);
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var sw = Stopwatch.StartNew();
        await SubmitAsync(token, rcpt);

        var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
        var elapsed = sw.Elapsed;
        Output?.WriteLine(received);
        Assert.Matches($@"\(using TLSv1\.[23] with cipher .* by {Regex.Escape(zone.Mx)} \(Postfix\) with ESMTPS id ", received);
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=mta-sts TLSv1\.[23] \S+ \(250 ", log);

        // The policy came from its host over HTTPS, asked for by name (SNI and Host).
        var fetches = Host(zone).Fetches(policyHost);
        var fetch = fetches.Count > 0 ? fetches[0] : null;
        Assert.True(fetch is not null, "no fetch of the policy from " + policyHost);
        // Host names the port when it is not 443 (RFC 9110 §7.2): the fixture's mtaSts.policyPort.
        var hostField = MtaStsFixture.PolicyPort == 443 ? policyHost : $"{policyHost}:{MtaStsFixture.PolicyPort}";
        Assert.Equal((hostField, "GET", MtaStsPolicyHost.PolicyPath), (fetch.Host, fetch.Method, fetch.Path));
        Output?.WriteLine($"policy fetched from {policyHost}: {fetch}");
        Record(zone, "listed MX, certificate from the trusted CA", "delivered", Verification(log, rcpt, "delivered"), elapsed, "Postfix: " + Regex.Match(received, @"\(using [^)]*\)").Value);
    }

    [Fact]
    public async Task EnforceWithAnUnlistedMxIsDeferredNamingThePolicyAndThePeerSeesNoConnection()
    {
        var zone = TestBed.StsBadMx;
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var connectsBefore = Connects(Peer(zone).MailLog);
        var sw = Stopwatch.StartNew();
        var id = await SubmitAsync(token, rcpt);

        var error = await WaitForDeferredAsync(id, rcpt);
        var elapsed = sw.Elapsed;
        Output?.WriteLine($"queue, {rcpt}: {error}");
        AssertNamesThePolicy(error, zone);
        Assert.Contains($"{zone.Mx} is not listed in {PolicyName(zone)}", error);
        var log = await RecipientLogAsync(rcpt, "deferred");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}>.* deferred tls=none .*\(451 4\.7\.", log);
        Assert.Equal($"validation-failure: {zone.Mx} is not listed in {PolicyName(zone)}", StsFailure(log, rcpt, "deferred"));

        // Retried (every second) and still refused before any connection: the MX never heard of us.
        await WaitForAttemptsAsync(id, rcpt, 3);
        Assert.Equal(connectsBefore, Connects(Peer(zone).MailLog));
        AssertNotAtPeer(Peer(zone), token);
        Assert.Equal("deferred", (string?)(await f.Mx.QueuedRecipientAsync(id, rcpt))!["state"]);
        Record(zone, "MX not listed (valid certificate)", "deferred, no connection", Verification(log, rcpt, "deferred"), elapsed, error);
        await DeleteAsync(id);
    }

    [Fact]
    public async Task EnforceWithAnInvalidCertificateIsDeferredAndNothingIsSent()
    {
        var zone = TestBed.StsBadCert;
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var peerLogBefore = Peer(zone).MailLog.Length;
        var sw = Stopwatch.StartNew();
        var id = await SubmitAsync(token, rcpt);

        var error = await WaitForDeferredAsync(id, rcpt);
        var elapsed = sw.Elapsed;
        Output?.WriteLine($"queue, {rcpt}: {error}");
        AssertNamesThePolicy(error, zone);
        Assert.Contains($"Server certificate of {zone.Mx}[{Ip(zone)}] not verified for {PolicyName(zone)}: certificate not trusted", error);
        var log = await RecipientLogAsync(rcpt, "deferred");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}>.* deferred tls=none .*\(451 4\.7\.5 ", log);
        Assert.StartsWith($"certificate-not-trusted: certificate of {zone.Mx}[{Ip(zone)}]: certificate not trusted", StsFailure(log, rcpt, "deferred"));

        // The client met the peer (the certificate is only seen in the handshake), then left without MAIL FROM.
        await WaitForAttemptsAsync(id, rcpt, 2);
        var peerLog = Peer(zone).MailLog[peerLogBefore..];
        Output?.WriteLine("Postfix since the submission:\n" + peerLog.TrimEnd());
        Assert.Contains("connect from", peerLog);
        Assert.DoesNotMatch(@"disconnect from .* mail=", peerLog);
        Assert.DoesNotContain("from=<alice@example.test>", peerLog);
        AssertNotAtPeer(Peer(zone), token);
        Record(zone, "listed MX, self-signed certificate", "deferred, nothing sent", Verification(log, rcpt, "deferred"), elapsed, error);
        await DeleteAsync(id);
    }

    [Fact]
    public async Task TestingModeDeliversDespiteAnInvalidCertificateAndRecordsTheFailure()
    {
        var zone = TestBed.StsTesting;
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var serverLogBefore = f.Mx.Log.Length;
        var sw = Stopwatch.StartNew();
        await SubmitAsync(token, rcpt);

        var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
        var elapsed = sw.Elapsed;
        Assert.Contains($"by {zone.Mx} (Postfix) with ESMTPS id", received);
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        // Not verified (the certificate names another host), so encrypted only; what enforce would have said is recorded
        // in the delivery log (RFC 8460 result type first, for TLS reporting) and the server's log.
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=encrypted TLSv1\.[23] ", log);
        var recorded = StsFailure(log, rcpt, "delivered");
        Assert.StartsWith($"certificate-host-mismatch: certificate of {zone.Mx}[{Ip(zone)}] not valid for {PolicyName(zone, MtaStsMode.Testing)}: certificate is not for {zone.Mx}", recorded);
        Assert.Contains($"MTA-STS testing: {zone.Name}: would fail under enforce: certificate-host-mismatch: ", f.Mx.Log[serverLogBefore..]);
        Record(zone, "listed MX, certificate for another name", "delivered, failure recorded", Verification(log, rcpt, "delivered"), elapsed, "mta-sts-failure: " + recorded);
    }

    [Fact]
    public async Task DaneWinsOverAnEnforcePolicyThatWouldRefuseTheMx()
    {
        var zone = TestBed.StsDane;
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var sw = Stopwatch.StartNew();
        await SubmitAsync(token, rcpt);

        // The policy lists only *.elsewhere.test and the certificate is self-signed: MTA-STS alone would defer.
        var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
        var elapsed = sw.Elapsed;
        Assert.Contains($"by {zone.Mx} (Postfix) with ESMTPS id", received);
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=dane TLSv1\.[23] \S+ \(250 ", log);
        Record(zone, "MX not listed, self-signed, TLSA 3 1 1 (DNSSEC)", "delivered", Verification(log, rcpt, "delivered"), elapsed, "RFC 8461 §2: DANE takes precedence");
    }

    [Fact]
    public async Task WhenThePolicyHostIsGoneTheCachedEnforcePolicyStillApplies()
    {
        var zone = TestBed.StsDown;
        var host = Host(zone);
        var connectsBefore = Connects(Peer(zone).MailLog);
        string first = Token(), second = Token();
        string rcpt1 = $"{first}@{zone.Name}", rcpt2 = $"{second}@{zone.Name}";

        var id1 = await SubmitAsync(first, rcpt1);
        AssertNamesThePolicy(await WaitForDeferredAsync(id1, rcpt1), zone);
        Assert.True(host.PolicyFetches(MtaStsFixture.PolicyHostName(zone)) >= 1, "the policy was not fetched from its host");

        // The host goes away, and so does the server's memory (a restart): the policy cached in the store
        // (max_age a day) still decides, so the unlisted MX stays refused. "No policy" would deliver.
        await host.StopAsync();
        try
        {
            await AssertRefusedAsync(host.Endpoint);
            Assert.Equal(0, await f.Mx.StopAsync());
            await f.Mx.StartAsync();
            var serverLogBefore = f.Mx.Log.Length;
            var sw = Stopwatch.StartNew();
            var id2 = await SubmitAsync(second, rcpt2);
            var error = await WaitForDeferredAsync(id2, rcpt2);
            var elapsed = sw.Elapsed;
            Output?.WriteLine($"queue, {rcpt2} (policy host down): {error}");
            AssertNamesThePolicy(error, zone);
            await WaitForAttemptsAsync(id2, rcpt2, 3);
            foreach (var (id, rcpt) in new[] { (id1, rcpt1), (id2, rcpt2) })
                Assert.Equal("deferred", (string?)(await f.Mx.QueuedRecipientAsync(id, rcpt))!["state"]);
            Assert.Equal(connectsBefore, Connects(Peer(zone).MailLog));
            AssertNotAtPeer(Peer(zone), first);
            AssertNotAtPeer(Peer(zone), second);
            var log = await RecipientLogAsync(rcpt2, "deferred");
            Output?.WriteLine(log.TrimEnd());
            // `policy show` reads the same cache: the policy, while its host is gone.
            var show = await f.Mx.Cli("policy", "show", zone.Name);
            Assert.True(show.ExitCode == 0, show.All);
            Output?.WriteLine($"$ securemx policy show {zone.Name}   (policy host down)\n{show.StdOut.TrimEnd()}");
            AssertShowsCachedEnforcePolicy(show.StdOut, zone, [MtaStsFixture.ElsewhereMx]);
            // Taken from the store, not fetched (the id of the TXT record is the cached one's): no fetch, no fetch error.
            Assert.DoesNotContain($"MTA-STS policy of {zone.Name} fetched", f.Mx.Log[serverLogBefore..]);
            Assert.DoesNotContain($"MTA-STS policy of {zone.Name} (id", f.Mx.Log[serverLogBefore..]);
            Record(zone, "MX not listed; policy host stopped after the first fetch, SecureMx restarted", "deferred (policy cached in the store)",
                Verification(log, rcpt2, "deferred"), elapsed, error);
            await DeleteAsync(id1);
            await DeleteAsync(id2);
        }
        finally
        {
            host.Start();
        }
    }

    [Fact]
    public async Task AnExpiredPolicyNoLongerAppliesOnceItsHostIsGone()
    {
        var zone = TestBed.StsExpire;
        var host = Host(zone);
        var name = MtaStsFixture.PolicyHostName(zone);
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var fetchesBefore = host.PolicyFetches(name);
        var sw = Stopwatch.StartNew();
        var id = await SubmitAsync(token, rcpt);
        AssertNamesThePolicy(await WaitForDeferredAsync(id, rcpt), zone);
        await host.StopAsync();
        try
        {
            await AssertRefusedAsync(host.Endpoint);
            var fetched = host.Fetches(name).Skip(fetchesBefore).Select(r => r.At).ToList();
            Assert.NotEmpty(fetched);
            var expires = fetched[^1] + MtaStsFixture.ShortMaxAge;
            Output?.WriteLine($"policy (max_age {MtaStsFixture.ShortMaxAge.TotalSeconds:0} s) last fetched at {fetched[^1]:HH:mm:ss.fff}, expires {expires:HH:mm:ss.fff}; host stopped at {DateTimeOffset.UtcNow:HH:mm:ss.fff}");

            // Until it expires the cached policy is enforced (retries every second, all refused; looked at here a
            // second before the expiry, unless a slow start of the test left no time for it) ...
            var untilJustBefore = expires - TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow;
            if (untilJustBefore > TimeSpan.Zero)
            {
                await Task.Delay(untilJustBefore);
                var stillQueued = await f.Mx.QueuedRecipientAsync(id, rcpt);
                Assert.True(stillQueued is not null && (string?)stillQueued["state"] == "deferred", $"delivered before the policy expired ({expires:HH:mm:ss.fff}): {stillQueued}");
                AssertNamesThePolicy((string)stillQueued["lastError"]!, zone);
                AssertNotAtPeer(Peer(zone), token);
            }

            // ... then, with no policy to be had, delivery goes on as without MTA-STS (RFC 8461 §5).
            var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
            var elapsed = sw.Elapsed;
            Assert.Contains($"by {zone.Mx} (Postfix) with ESMTPS id", received);
            var log = await RecipientLogAsync(rcpt, "delivered");
            Output?.WriteLine(log.TrimEnd());
            // The delivery log's own time of the delivery (SecureMx's clock, the same machine's): not before max_age ran out.
            var loggedAt = DateTimeOffset.Parse(Regex.Match(log, $@"^(\S+) \S+ from=<[^>]*>.* to=<{Regex.Escape(rcpt)}> .* delivered ", RegexOptions.Multiline).Groups[1].Value,
                System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(loggedAt >= expires, $"delivered at {loggedAt:HH:mm:ss.fff}, before the policy expired at {expires:HH:mm:ss.fff}");
            Assert.Matches($@"to=<{Regex.Escape(rcpt)}>.* deferred tls=none .*\(451 4\.7\.", log);
            Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=encrypted ", log);
            // The policy could not be had (its host is gone): RFC 8461 §5, delivered as without, and said so.
            Assert.StartsWith($"sts-policy-fetch-error: the MTA-STS policy of {zone.Name} could not be fetched (", StsFailure(log, rcpt, "delivered"));
            // And the store no longer offers it.
            var show = await f.Mx.Cli("policy", "show", zone.Name);
            Output?.WriteLine($"$ securemx policy show {zone.Name}\n{show.StdOut.TrimEnd()}");
            Assert.Matches(@"\n  mta-sts: (no cached policy for \S+|enforce \(id \S+\), .* \(expired: not used\))", show.StdOut);
            Record(zone, $"MX not listed; host stopped; max_age {MtaStsFixture.ShortMaxAge.TotalSeconds:0} s passes", "deferred, then delivered after expiry",
                "none, then " + Verification(log, rcpt, "delivered"), elapsed, $"delivered {(loggedAt - expires).TotalSeconds:F1} s after the policy expired (delivery log time)");
        }
        finally
        {
            host.Start();
        }
    }

    [Fact]
    public async Task APolicyBodyPastTheSizeLimitIsRefusedAndDeliveryGoesOnWithoutMtaSts()
    {
        var zone = TestBed.StsHostile;
        var name = MtaStsFixture.PolicyHostName(zone);
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var sw = Stopwatch.StartNew();
        var id = await SubmitAsync(token, rcpt);

        // Its first lines are a valid enforce policy that does not list the MX: read past 64 KiB (or cut there), it would defer.
        var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
        var elapsed = sw.Elapsed;
        Assert.Contains($"by {zone.Mx} (Postfix) with ESMTPS id", received);
        Assert.True(Host(zone).PolicyFetches(name) >= 1, "the policy host was not asked");
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=encrypted ", log);
        Assert.DoesNotMatch($@"to=<{Regex.Escape(rcpt)}>.* deferred ", log);
        var recorded = StsFailure(log, rcpt, "delivered");
        // RFC 8460 §4.3.2: a policy that is not one (here: too long) is sts-policy-invalid.
        Assert.StartsWith($"sts-policy-invalid: the MTA-STS policy of {zone.Name} could not be fetched (", recorded);
        Assert.Contains($"longer than the {MtaStsPolicy.MaxBodyBytes} bytes", recorded);
        Assert.DoesNotContain(await f.Mx.QueueListAsync(), m => (string?)m!["id"] == id);
        Record(zone, $"policy body over the {MtaStsPolicy.MaxBodyBytes}-byte limit, no Content-Length", "delivered as without MTA-STS",
            Verification(log, rcpt, "delivered"), elapsed, "mta-sts-failure: " + recorded);
    }

    [Fact]
    public async Task APolicyHostThatTricklesItsAnswerIsCutAtTheFetchLimitAndDeliveryGoesOnWithoutMtaSts()
    {
        var zone = TestBed.StsSlow;
        var name = MtaStsFixture.PolicyHostName(zone);
        var token = Token();
        var rcpt = $"{token}@{zone.Name}";
        var sw = Stopwatch.StartNew();
        var id = await SubmitAsync(token, rcpt);

        // The whole policy would take about 90 s (and would defer: the MX is not listed); the fetch gives up at its limit.
        var received = PeerReceived(await Peer(zone).WaitForMessageAsync(token, Wait));
        var elapsed = sw.Elapsed;
        Assert.Contains($"by {zone.Mx} (Postfix) with ESMTPS id", received);
        Assert.True(Host(zone).PolicyFetches(name) >= 1, "the policy host was not asked");
        var limit = TimeSpan.FromSeconds(MtaStsFixture.FetchTimeoutSeconds);
        Assert.True(elapsed >= limit, $"delivered after {elapsed.TotalSeconds:F1} s, before the fetch limit of {limit.TotalSeconds} s ran out");
        Assert.True(elapsed < limit + TimeSpan.FromSeconds(15), $"delivered only after {elapsed.TotalSeconds:F1} s: the fetch was not cut at {limit.TotalSeconds} s");
        var log = await RecipientLogAsync(rcpt, "delivered");
        Output?.WriteLine(log.TrimEnd());
        Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(zone.Mx)}\[{Regex.Escape(Ip(zone))}\] delivered tls=encrypted ", log);
        var recorded = StsFailure(log, rcpt, "delivered");
        Assert.StartsWith($"sts-policy-fetch-error: the MTA-STS policy of {zone.Name} could not be fetched (", recorded);
        Assert.Contains($"no complete answer within {MtaStsFixture.FetchTimeoutSeconds} s (mtaSts.fetchTimeoutSeconds)", recorded);
        Assert.DoesNotContain(await f.Mx.QueueListAsync(), m => (string?)m!["id"] == id);
        Record(zone, $"policy sent a byte per {MtaStsFixture.SlowHostDrip.TotalSeconds:0} s; mtaSts.fetchTimeoutSeconds {MtaStsFixture.FetchTimeoutSeconds}", "delivered as without MTA-STS",
            Verification(log, rcpt, "delivered"), elapsed, "mta-sts-failure: " + recorded);
    }

    [Fact]
    public async Task PolicyShowPrintsTheCachedPolicyOfADestination()
    {
        var zone = TestBed.StsEnforce;
        var token = Token();
        await SubmitAsync(token, $"{token}@{zone.Name}");
        await Peer(zone).WaitForMessageAsync(token, Wait);

        var show = await f.Mx.Cli("policy", "show", zone.Name);
        Assert.True(show.ExitCode == 0, show.All);
        Output?.WriteLine($"$ securemx policy show {zone.Name}\n{show.StdOut.TrimEnd()}");
        AssertShowsCachedEnforcePolicy(show.StdOut, zone, [zone.Mx]);
        Assert.Matches(@"\n    rule: mail to this domain goes only to the MX hosts listed above, over TLS 1\.2\+ with secure ciphers and a certificate valid \(PKIX\) for the MX name", show.StdOut);
    }

    /// <summary>`policy show DOMAIN` prints the source mta-sts: the cached enforce policy, its id (the TXT record's) and mx patterns, last checked ok.</summary>
    private static void AssertShowsCachedEnforcePolicy(string show, TestBedZone zone, string[] mx)
    {
        Assert.Matches($@"\n  mta-sts: enforce \(id {Regex.Escape(TxtId(zone))}\), fetched \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, expires \S+\n", show);
        Assert.Contains($"\n    mx: {string.Join(", ", mx)}\n", show);
        Assert.Matches(@"\n    last checked \S+: ok\n", show);
    }

    [Fact]
    public async Task ProbeShowsThePolicyAndItsVerdict()
    {
        // The listed MX with a certificate from the trusted CA: enforce would deliver.
        var zone = TestBed.StsEnforce;
        var ok = await f.Mx.Cli("probe", zone.Name);
        Assert.True(ok.ExitCode == 0, ok.All);
        Output?.WriteLine($"$ securemx probe {zone.Name}\n{ok.StdOut.TrimEnd()}");
        Assert.Contains($"MTA-STS:  TXT {MtaStsTxtRecord.OwnerName(zone.Name)}: v=STSv1; id={TxtId(zone)};\n", ok.StdOut);
        Assert.Contains($"          policy: enforce (id {TxtId(zone)}, max_age {MtaStsFixture.LongMaxAge.TotalSeconds:0} s), mx: {zone.Mx}\n", ok.StdOut);
        Assert.Contains("  MTA-STS:     listed in the policy\n", ok.StdOut);
        Assert.Matches(@"\n  PKIX:        valid: ", ok.StdOut);
        Assert.Contains("MTA-STS (enforce) would deliver: yes: every MX address is listed and has a certificate valid (PKIX) for its name", ok.StdOut);
        var okJson = await ProbeJsonAsync(zone.Name);
        Assert.True((bool?)okJson["mtaSts"]?["delivers"], okJson.ToJsonString());

        // The unlisted MX, and the listed one with a self-signed certificate: enforce would not deliver, and says why.
        foreach (var (bad, why) in new[] { (TestBed.StsBadMx, "not listed in the policy"), (TestBed.StsBadCert, "certificate not trusted") })
        {
            var r = await f.Mx.Cli("probe", bad.Name);
            Assert.True(r.ExitCode == 0, r.All);
            Output?.WriteLine($"$ securemx probe {bad.Name}\n{r.StdOut.TrimEnd()}");
            Assert.Contains($"          policy: enforce (id {TxtId(bad)}, max_age {MtaStsFixture.LongMaxAge.TotalSeconds:0} s), mx: {string.Join(", ", f.Policies[bad.Name].Mx)}\n", r.StdOut);
            Assert.Matches($@"MTA-STS \(enforce\) would deliver: no: {Regex.Escape($"{bad.Mx}[{Ip(bad)}]")}: {why}", r.StdOut);
            var json = await ProbeJsonAsync(bad.Name);
            Assert.False((bool?)json["mtaSts"]?["delivers"] ?? true, json.ToJsonString());
        }
        Assert.Contains("  MTA-STS:     NOT LISTED in the policy\n", (await f.Mx.Cli("probe", TestBed.StsBadMx.Name)).StdOut);

        // The probe fetches now and does not write the cache (delivery's): the fetch shows at the policy host.
        var fetchesBefore = Host(zone).PolicyFetches(MtaStsFixture.PolicyHostName(zone));
        await f.Mx.CliOk("probe", zone.Name);
        Assert.Equal(fetchesBefore + 1, Host(zone).PolicyFetches(MtaStsFixture.PolicyHostName(zone)));
    }

    private async Task<JsonObject> ProbeJsonAsync(string domain)
    {
        var r = await f.Mx.Cli("probe", domain, "--json");
        Assert.True(r.ExitCode == 0, r.All);
        return JsonNode.Parse(r.StdOut)!.AsObject();
    }

    /// <summary>The stopped host is really gone: a connection is refused.</summary>
    private static async Task AssertRefusedAsync(IPEndPoint endpoint)
    {
        using var probe = new TcpClient();
        var ex = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(endpoint.Address, endpoint.Port));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
    }

    /// <summary>Waits until the recipient has been tried at least <paramref name="attempts"/> times (the queue's count).</summary>
    private async Task WaitForAttemptsAsync(string id, string recipient, int attempts)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var rcpt = await f.Mx.QueuedRecipientAsync(id, recipient);
            if (rcpt is null) throw new InvalidOperationException($"{id} to {recipient} left the queue");
            if ((int?)rcpt["attempts"] >= attempts) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{id} to {recipient}: fewer than {attempts} attempts: {rcpt}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task TlsReportsCountStsSessionsAndFailuresByTheirRfc8460ResultTypes()
    {
        var token = Token();
        string enforce = $"{token}@{TestBed.StsEnforce.Name}", badCert = $"{token}@{TestBed.StsBadCert.Name}", badMx = $"{token}@{TestBed.StsBadMx.Name}",
            testing = $"{token}@{TestBed.StsTesting.Name}", dane = $"{token}@{TestBed.StsDane.Name}";
        var id = await SubmitAsync(token, enforce, badCert, badMx, testing, dane);
        await Peer(TestBed.StsEnforce).WaitForMessageAsync(token, Wait);
        await Peer(TestBed.StsTesting).WaitForMessageAsync(token, Wait);
        await Peer(TestBed.StsDane).WaitForMessageAsync(token, Wait);
        await WaitForDeferredAsync(id, badCert);
        await WaitForDeferredAsync(id, badMx);
        await DeleteAsync(id);

        // Enforce, listed MX, valid certificate: an sts success, with the policy's lines and mx patterns.
        var ok = await f.Mx.WaitForReportAsync(TestBed.StsEnforce.Name, r => r.Policies("sts").Any(p => p.Successful() >= 1), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.StsEnforce.Name}\n{ok.ToJsonString()}");
        var sts = Assert.Single(ok.Policies("sts"));
        Assert.Equal(f.Policies[TestBed.StsEnforce.Name].ToText().Split("\r\n", StringSplitOptions.RemoveEmptyEntries), sts["policy"]!["policy-string"]!.AsArray().Select(l => (string?)l));
        Assert.Equal([TestBed.StsEnforce.Mx], sts["policy"]!["mx-host"]!.AsArray().Select(l => (string?)l));
        Assert.Equal(0, sts.Failed());

        // Enforce, self-signed certificate: certificate-not-trusted at the MX's address.
        var cert = await f.Mx.WaitForReportAsync(TestBed.StsBadCert.Name, r => r.Policies("sts").Any(p => p.Failures("certificate-not-trusted").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.StsBadCert.Name}\n{cert.ToJsonString()}");
        var untrusted = Assert.Single(Assert.Single(cert.Policies("sts")).Failures("certificate-not-trusted"));
        Assert.Equal((TestBed.StsBadCert.Mx, Ip(TestBed.StsBadCert)), ((string?)untrusted["receiving-mx-hostname"], (string?)untrusted["receiving-ip"]));

        // Enforce, MX not listed: validation-failure, before any connection (no receiving-ip).
        var mx = await f.Mx.WaitForReportAsync(TestBed.StsBadMx.Name, r => r.Policies("sts").Any(p => p.Failures("validation-failure").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.StsBadMx.Name}\n{mx.ToJsonString()}");
        var unlisted = Assert.Single(Assert.Single(mx.Policies("sts")).Failures("validation-failure"));
        Assert.Equal(TestBed.StsBadMx.Mx, (string?)unlisted["receiving-mx-hostname"]);
        Assert.Null(unlisted["receiving-ip"]);
        Assert.Contains($"{TestBed.StsBadMx.Mx} is not listed in {PolicyName(TestBed.StsBadMx)}", (string?)unlisted["failure-reason-code"]);

        // Testing, certificate for another name: delivered, and counted as what enforce would have refused.
        var test = await f.Mx.WaitForReportAsync(TestBed.StsTesting.Name, r => r.Policies("sts").Any(p => p.Failures("certificate-host-mismatch").Any()), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.StsTesting.Name}\n{test.ToJsonString()}");
        Assert.Contains("mode: testing", Assert.Single(test.Policies("sts"))["policy"]!["policy-string"]!.AsArray().Select(l => (string?)l));

        // Secure TLSA of the MX: DANE takes precedence over the policy that does not list it: a tlsa success, no sts.
        var daneReport = await f.Mx.WaitForReportAsync(TestBed.StsDane.Name, r => r.Policies("tlsa").Any(p => p.Successful() >= 1), Wait);
        Output?.WriteLine($"$ securemx tls-report show {TestBed.StsDane.Name}\n{daneReport.ToJsonString()}");
        Assert.Equal([f.MxCertificates[TestBed.StsDane.Name].TlsaDaneEe], Assert.Single(daneReport.Policies("tlsa"))["policy"]!["policy-string"]!.AsArray().Select(l => (string?)l));
        Assert.Empty(daneReport.Policies("sts"));
    }

    [Fact]
    public void TheMeasuredTableDomainByPolicyToOutcome()
    {
        // Declared last: the class runs in declaration order (DeclarationOrder), so every scenario has reported.
        var rows = MtaStsFixture.Domains.Select(z => f.Outcomes.TryGetValue(z.Name, out var row) ? row : null).ToList();
        var table = new StringBuilder();
        table.AppendLine($"domain × policy → outcome (measured on the test bed {f.Net}; SecureMx retries every 1 s)");
        table.AppendLine("| domain | policy served | case | result | verification | time to outcome | detail |");
        table.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (zone, row) in MtaStsFixture.Domains.Zip(rows))
        {
            table.AppendLine(row is null
                ? $"| {zone.Name} | | | (no outcome: its test failed or did not run) | | | |"
                : $"| {row.Domain} | {row.Policy} | {row.Case} | {row.Result} | {row.Verification} | {row.Elapsed.TotalSeconds:F1} s | {row.Detail.Replace("|", "/")} |");
        }
        Output?.WriteLine(table.ToString());
        Assert.All(rows, r => Assert.NotNull(r));
    }
}
