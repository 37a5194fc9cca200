using System.Diagnostics;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// The outbound mandatory-TLS/DANE "test internet": the DNSSEC test bed (127.0.12, else 127.0.14 or
/// 127.0.16) with one mail domain per kind of receiving server, a Postfix "mailbox" peer for each, and
/// one running SecureMx that resolves through the test bed, with seconds-scale queue times so that the
/// delay warning (3 s) and the TLS expiry (8 s) happen during a test.
/// </summary>
/// <remarks>
/// Domains (NET = the test bed's prefix; each MX host has its own address):
/// <list type="bullet">
/// <item>dane-ok.test: signed, mx.dane-ok.test = NET.16 (the bed's own host), self-signed certificate, TLSA 3 1 1 of it.</item>
/// <item>dane-ta.test: signed, NET.21, leaf from a private CA with the chain sent, TLSA 2 1 1 of the CA.</item>
/// <item>tlsa-servfail.test: signed MX and A, NET.22, but the TLSA lookup SERVFAILs (BOGUS-TLSA; its data would match).</item>
/// <item>dane-bad.test: signed, NET.23, TLS with a self-signed certificate, TLSA 3 1 1 of an unrelated key.</item>
/// <item>unsigned.test: the bed's insecure zone (with a TLSA that matches nothing), NET.15, TLS.</item>
/// <item>plain.test: signed, no TLSA, NET.24, no STARTTLS.</item>
/// <item>weak.test: signed, no TLSA, NET.25, TLS 1.0 with AES-CBC-SHA1 and RSA key exchange only.</item>
/// </list>
/// SecureMx hosts example.test (alice, bob, carol) and strict.test (dave), with submission listeners.
/// </remarks>
public sealed class MandatoryTlsFixture : IAsyncLifetime
{
    public static readonly string[] Nets = ["127.0.12", "127.0.14", "127.0.16"];

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;

    public TestCertificate OkCert { get; private set; } = null!;        // mx.dane-ok.test, self-signed
    public TestCertificate TaCert { get; private set; } = null!;        // mx.dane-ta.test, from a private CA
    public TestCertificate BadCert { get; private set; } = null!;       // mx.dane-bad.test, self-signed
    public TestCertificate UnrelatedCert { get; private set; } = null!; // only its key is in dane-bad's TLSA
    public TestCertificate ServfailCert { get; private set; } = null!;  // mx.tlsa-servfail.test; the bogus TLSA would match it

    public PostfixPeer DaneOk { get; private set; } = null!;
    public PostfixPeer DaneTa { get; private set; } = null!;
    public PostfixPeer TlsaServfail { get; private set; } = null!;
    public PostfixPeer DaneBad { get; private set; } = null!;
    public PostfixPeer Unsigned { get; private set; } = null!;
    public PostfixPeer Plain { get; private set; } = null!;
    public PostfixPeer Weak { get; private set; } = null!;

    /// <summary>Wall-clock time of the whole start (test bed, seven peers, SecureMx).</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>Where the start time went (test bed; peers and instance side by side; serve).</summary>
    public string StartDetail { get; private set; } = "";

    public string Net => Dns.Net;

    private readonly List<PostfixPeer> _peers = [];
    private string? _certDir;

    public async ValueTask InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        OkCert = TestCertificates.SelfSigned("mx.dane-ok.test");
        TaCert = TestCertificates.IssuedByPrivateCa("mx.dane-ta.test", "SecureMx DANE-TA Test CA");
        BadCert = TestCertificates.SelfSigned("mx.dane-bad.test");
        UnrelatedCert = TestCertificates.SelfSigned("unrelated.dane-bad.test");
        ServfailCert = TestCertificates.SelfSigned("mx.tlsa-servfail.test");
        _certDir = Directory.CreateTempSubdirectory("securemx-mtls-certs-").FullName;
        var okFiles = OkCert.WritePem(_certDir, "dane-ok");
        var taFiles = TaCert.WritePem(_certDir, "dane-ta");
        var badFiles = BadCert.WritePem(_certDir, "dane-bad");
        var servfailFiles = ServfailCert.WritePem(_certDir, "tlsa-servfail");

        Dns = await DnsTestBed.StartAsync(Nets, records: net => $"""
            _25._tcp.mx.dane-ok.test. TLSA {OkCert.TlsaDaneEe}
            dane-ta.test. MX 10 mx.dane-ta.test.
            mx.dane-ta.test. A {net}.21
            _25._tcp.mx.dane-ta.test. TLSA {TaCert.TlsaDaneTa}
            tlsa-servfail.test. MX 10 mx.tlsa-servfail.test.
            mx.tlsa-servfail.test. A {net}.22
            BOGUS-TLSA _25._tcp.mx.tlsa-servfail.test. {ServfailCert.TlsaDaneEe}
            dane-bad.test. MX 10 mx.dane-bad.test.
            mx.dane-bad.test. A {net}.23
            _25._tcp.mx.dane-bad.test. TLSA {UnrelatedCert.TlsaDaneEe}
            plain.test. MX 10 mx.plain.test.
            mx.plain.test. A {net}.24
            weak.test. MX 10 mx.weak.test.
            mx.weak.test. A {net}.25
            """);
        var n = Dns.Net;
        var bedTime = sw.Elapsed;

        // The peers and the SecureMx instance do not depend on each other: start them side by side.
        async Task<PostfixPeer> Peer(string address, string host, string domain, TestCertificateFiles? cert, string tls)
        {
            var peer = await PostfixPeer.StartMailboxAsync($"{address}:25", host, domain, cert, tls);
            lock (_peers) _peers.Add(peer);
            return peer;
        }
        var daneOk = Peer(Dns.Host(6).ToString(), "mx.dane-ok.test", "dane-ok.test", okFiles, "yes");
        var daneTa = Peer($"{n}.21", "mx.dane-ta.test", "dane-ta.test", taFiles, "yes");
        var servfail = Peer($"{n}.22", "mx.tlsa-servfail.test", "tlsa-servfail.test", servfailFiles, "yes");
        var daneBad = Peer($"{n}.23", "mx.dane-bad.test", "dane-bad.test", badFiles, "yes");
        var unsigned = Peer(Dns.Host(5).ToString(), "mx.unsigned.test", "unsigned.test", null, "yes");
        var plain = Peer($"{n}.24", "mx.plain.test", "plain.test", null, "no");
        var weak = Peer($"{n}.25", "mx.weak.test", "weak.test", null, "weak");
        var instance = CreateInstanceAsync(n);
        try
        {
            await Task.WhenAll(daneOk, daneTa, servfail, daneBad, unsigned, plain, weak, instance);
        }
        finally
        {
            if (instance.IsCompletedSuccessfully) Mx = instance.Result; // disposed with the rest if a peer failed
        }
        (DaneOk, DaneTa, TlsaServfail, DaneBad, Unsigned, Plain, Weak) =
            (daneOk.Result, daneTa.Result, servfail.Result, daneBad.Result, unsigned.Result, plain.Result, weak.Result);
        var peersTime = sw.Elapsed;
        await Mx.StartAsync();
        StartTime = sw.Elapsed;
        StartDetail = $"DNS test bed {bedTime.TotalSeconds:F1} s, peers and instance {(peersTime - bedTime).TotalSeconds:F1} s, serve {(StartTime - peersTime).TotalSeconds:F1} s";
    }

    private static async Task<SecureMxInstance> CreateInstanceAsync(string net)
    {
        var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test", "carol@example.test"], cfg =>
        {
            SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, $"{net}.2:53", expireAfter: "60s", tlsExpireAfter: "8s");
        }, submission: true);
        // A second hosted domain for the "mandatory sender domain" cases: example.test's senders stay unaffected.
        await mx.CliOk("domain", "add", "strict.test");
        var r = await Run.SecureMxWithStdinAsync(SubmissionClient.Password + "\n", "mailbox", "add", "dave@strict.test", "--password-stdin", "--data", mx.DataDir);
        Assert.True(r.ExitCode == 0, r.All);
        return mx;
    }

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            try { await Mx.StopAsync(); } catch (Exception) { }
            await Mx.DisposeAsync();
            Mx = null!;
        }
        List<PostfixPeer> peers;
        lock (_peers)
        {
            peers = [.. _peers];
            _peers.Clear();
        }
        await Task.WhenAll(peers.Select(p => p.DisposeAsync().AsTask()));
        if (Dns is not null)
        {
            await Dns.DisposeAsync();
            Dns = null!;
        }
        foreach (var c in new[] { OkCert, TaCert, BadCert, UnrelatedCert, ServfailCert }) c?.Dispose();
        if (_certDir is not null)
        {
            try { Directory.Delete(_certDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            _certDir = null;
        }
    }
}
