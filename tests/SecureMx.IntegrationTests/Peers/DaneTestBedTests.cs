using System.Diagnostics;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Peers;

/// <summary>
/// The DANE test infrastructure on its own, without SecureMx: a DNSSEC test bed with TLSA records that
/// match real certificates (DANE-EE self-signed, DANE-TA private CA) and a TLSA lookup that SERVFAILs,
/// receiving Postfix peers serving those certificates, and Postfix as the DANE reference sender
/// resolving through the test bed. If these pass, a failing SecureMx DANE test is about SecureMx.
/// </summary>
public sealed class DaneTestBedFixture : IAsyncLifetime
{
    public DnsTestBed Dns { get; private set; } = null!;
    public TestCertificate OkCert { get; private set; } = null!;   // self-signed for DaneOk's MX; TLSA 3 1 1
    public TestCertificate TaCert { get; private set; } = null!;   // DaneTa's MX from a private CA; TLSA 2 1 1 of the CA
    public PostfixPeer DaneOk { get; private set; } = null!;
    public PostfixPeer DaneTa { get; private set; } = null!;
    public PostfixPeer TlsaServfail { get; private set; } = null!; // serves OkCert (its bogus TLSA would match)
    public PostfixPeer Sender { get; private set; } = null!;       // the dane-sender
    public TimeSpan StartTime { get; private set; }
    private string? _certDir;

    public string Net => Dns.Net;

    /// <summary>The dane-sender's address.</summary>
    public System.Net.IPAddress SenderAddress => Dns.Address(TestBed.Sender);

    public async ValueTask InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        OkCert = TestCertificates.SelfSigned(TestBed.DaneOk.Mx);
        TaCert = TestCertificates.IssuedByPrivateCa(TestBed.DaneTa.Mx, "DANE-TA Test CA");
        _certDir = Directory.CreateTempSubdirectory("securemx-dane-certs-").FullName;
        var okFiles = OkCert.WritePem(_certDir, "dane-ok");
        var taFiles = TaCert.WritePem(_certDir, "dane-ta");

        Dns = await DnsTestBed.StartAsync(["127.0.11", "127.0.12", "127.0.13"], records:
        [
            TestBed.DaneOk.TlsaLine(OkCert.TlsaDaneEe),
            TestBed.DaneTa.TlsaLine(TaCert.TlsaDaneTa),
            TestBed.TlsaServfail.TlsaLine(OkCert.TlsaDaneEe),
        ]);
        string Listen(TestBedZone zone) => $"{Dns.AddressOf(zone.Mx)}:25";
        DaneOk = await PostfixPeer.StartMailboxAsync(Listen(TestBed.DaneOk), TestBed.DaneOk.Mx, TestBed.DaneOk.Name, okFiles);
        DaneTa = await PostfixPeer.StartMailboxAsync(Listen(TestBed.DaneTa), TestBed.DaneTa.Mx, TestBed.DaneTa.Name, taFiles);
        TlsaServfail = await PostfixPeer.StartMailboxAsync(Listen(TestBed.TlsaServfail), TestBed.TlsaServfail.Mx, TestBed.TlsaServfail.Name, okFiles);
        Sender = await PostfixPeer.StartDaneSenderAsync($"{SenderAddress}:25", Dns.Resolver.Address);
        StartTime = sw.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in new[] { Sender, DaneOk, DaneTa, TlsaServfail })
        {
            if (peer is not null) await peer.DisposeAsync();
        }
        if (Dns is not null) await Dns.DisposeAsync();
        OkCert?.Dispose();
        TaCert?.Dispose();
        if (_certDir is not null)
        {
            try { Directory.Delete(_certDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

public sealed class DaneTestBedTests(DaneTestBedFixture f) : IClassFixture<DaneTestBedFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ResolverValidatesTheTlsaRecordsAndTheBogusTlsaServfails()
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"test bed and peers on {f.Net} started in {f.StartTime.TotalSeconds:F1} s");

        var ok = await DigAsync(TestBed.DaneOk.Tlsa.Owner, "TLSA");
        Assert.True(ok.Status == "NOERROR" && ok.Ad, ok.Output);
        Assert.Equal([f.OkCert.TlsaDaneEe], ok.Tlsa);

        var ta = await DigAsync(TestBed.DaneTa.Tlsa.Owner, "TLSA");
        Assert.True(ta.Status == "NOERROR" && ta.Ad, ta.Output);
        Assert.Equal([f.TaCert.TlsaDaneTa], ta.Tlsa);

        // MX and address of the TlsaServfail domain validate; only its TLSA lookup fails
        foreach (var (name, type) in new[] { (TestBed.TlsaServfail.Name, "MX"), (TestBed.TlsaServfail.Mx, "A"), (TestBed.DaneTa.Mx, "A") })
        {
            var r = await DigAsync(name, type);
            Assert.True(r.Status == "NOERROR" && r.Ad, r.Output);
        }
        var bogus = await DigAsync(TestBed.TlsaServfail.Tlsa.Owner, "TLSA");
        Assert.True(bogus.Status == "SERVFAIL", bogus.Output);
    }

    [Fact]
    public async Task DaneSenderDeliversToDaneEeOverVerifiedTls()
    {
        var token = Guid.NewGuid().ToString("N");
        await f.Sender.InjectAsync("postmaster@sender.test", $"user@{TestBed.DaneOk.Name}", token);
        var message = await f.DaneOk.WaitForMessageAsync(token, Wait);
        var line = await f.Sender.WaitForDeliveryAsync($"user@{TestBed.DaneOk.Name}", Wait);

        var mx = Regex.Escape($"{TestBed.DaneOk.Mx}[{f.Dns.AddressOf(TestBed.DaneOk.Mx)}]:25");
        Assert.Matches($@"relay={mx},.*dsn=2\.0\.0, status=sent", line);
        Assert.Matches($@"Verified TLS connection established to {mx}: TLSv1\.3 with cipher", f.Sender.MailLog);
        // the receiver's witness: TLS from the sender's address
        Assert.Contains($"[{f.SenderAddress}])", message);
        Assert.Contains("with ESMTPS", message);

        // posttls-finger in the sender's resolver namespace sees the same DANE match
        var finger = await f.Sender.ExecAsync("posttls-finger", "-c", "-l", "dane", TestBed.DaneOk.Name);
        Assert.Contains("Matched DANE EE certificate at depth 0: " + f.OkCert.TlsaDaneEe, finger.All, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"Verified TLS connection established to {TestBed.DaneOk.Mx}", finger.All);
    }

    [Fact]
    public async Task DaneSenderDeliversToDaneTaOverVerifiedTls()
    {
        var token = Guid.NewGuid().ToString("N");
        await f.Sender.InjectAsync("postmaster@sender.test", $"user@{TestBed.DaneTa.Name}", token);
        var message = await f.DaneTa.WaitForMessageAsync(token, Wait);
        var line = await f.Sender.WaitForDeliveryAsync($"user@{TestBed.DaneTa.Name}", Wait);

        var mx = Regex.Escape($"{TestBed.DaneTa.Mx}[{f.Dns.AddressOf(TestBed.DaneTa.Mx)}]:25");
        Assert.Matches($@"relay={mx},.*dsn=2\.0\.0, status=sent", line);
        Assert.Matches($@"Verified TLS connection established to {mx}: TLSv1\.3 with cipher", f.Sender.MailLog);
        Assert.Contains("with ESMTPS", message);
    }

    [Fact]
    public async Task DaneSenderDefersWhenTheTlsaLookupFails()
    {
        var token = Guid.NewGuid().ToString("N");
        await f.Sender.InjectAsync("postmaster@sender.test", $"user@{TestBed.TlsaServfail.Name}", token);
        var line = await f.Sender.WaitForDeliveryAsync($"user@{TestBed.TlsaServfail.Name}", Wait);

        // Postfix 3.7: "relay=none, ..., dsn=4.7.5, status=deferred (TLSA lookup error for mx.x.test:25)"
        Assert.Matches($@"relay=none, .*dsn=4\.7\.5, status=deferred \(TLSA lookup error for {Regex.Escape(TestBed.TlsaServfail.Mx)}:25\)", line);
        Assert.Contains($"warning: TLS policy lookup for {TestBed.TlsaServfail.Name}/{TestBed.TlsaServfail.Mx}: TLSA lookup error", f.Sender.MailLog);
        Assert.Contains($"TLSA lookup error for {TestBed.TlsaServfail.Mx}:25", await f.Sender.QueueJsonAsync());
        // no connection was made, although the server would have matched the (bogus) TLSA
        Assert.DoesNotContain(f.TlsaServfail.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain($"[{f.SenderAddress}]", f.TlsaServfail.MailLog);
    }

    [Fact]
    public void TestSslIsInstalled()
    {
        Assert.True(TestSsl.Command is not null, "testssl.sh is not installed (Debian package testssl.sh, command testssl): run scripts/install-test-deps.sh");
    }

    private sealed record DigResult(string Status, bool Ad, string[] Tlsa, string Output);

    /// <summary>One query through the test bed's validating resolver.</summary>
    private async Task<DigResult> DigAsync(string name, string type)
    {
        var r = await Run.ProcessAsync("dig", ["+dnssec", "+time=2", "+tries=2", "+noall", "+comments", "+answer", $"@{f.Dns.Resolver.Address}", name, type]);
        Assert.True(r.ExitCode == 0, $"dig {name} {type}: {r.All}");
        var status = Regex.Match(r.StdOut, @"status: (\w+)").Groups[1].Value;
        var flags = Regex.Match(r.StdOut, @";; flags:([^;]*);").Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // "_25._tcp.mx.x.test. 300 IN TLSA 3 1 1 ABCD... EF01..." -> "3 1 1 abcd...ef01..."
        var tlsa = r.StdOut.Split('\n')
            .Select(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 8 && !p[0].StartsWith(';') && p[3] == "TLSA")
            .Select(p => $"{p[4]} {p[5]} {p[6]} {string.Concat(p[7..]).ToLowerInvariant()}")
            .ToArray();
        return new DigResult(status, flags.Contains("ad"), tlsa, $"dig {name} {type}:\n{r.StdOut}");
    }
}
