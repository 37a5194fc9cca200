using System.Diagnostics;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// The outbound mandatory-TLS/DANE "test internet": the DNSSEC test bed (on the first free prefix of
/// <see cref="Nets"/>) with one mail domain per kind of receiving server, a Postfix "mailbox" peer for each, and
/// one running SecureMx that resolves through the test bed, with seconds-scale queue times so that the
/// delay warning (3 s) and the TLS expiry (8 s) happen during a test.
/// </summary>
/// <remarks>
/// Domains (<see cref="TestBed"/>; each MX host has its own address):
/// <list type="bullet">
/// <item>DaneOk: signed, self-signed certificate, TLSA 3 1 1 of it.</item>
/// <item>DaneTa: signed, leaf from a private CA with the chain sent, TLSA 2 1 1 of the CA.</item>
/// <item>TlsaServfail: signed MX and A, but the TLSA lookup SERVFAILs (BOGUS-TLSA; its data would match).</item>
/// <item>DaneBad: signed, TLS with a self-signed certificate, TLSA 3 1 1 of an unrelated key.</item>
/// <item>Unsigned: the bed's insecure zone (with a TLSA that matches nothing), TLS.</item>
/// <item>Plain: signed, no TLSA, no STARTTLS.</item>
/// <item>Weak: signed, no TLSA, TLS 1.0 with AES-CBC-SHA1 and RSA key exchange only.</item>
/// </list>
/// SecureMx hosts example.test (alice, bob, carol) and strict.test (dave), with submission listeners.
/// </remarks>
public sealed class MandatoryTlsFixture : IAsyncLifetime
{
    public static readonly string[] Nets = ["127.0.12", "127.0.14", "127.0.16"];

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;

    public TestCertificate OkCert { get; private set; } = null!;        // DaneOk's MX, self-signed
    public TestCertificate TaCert { get; private set; } = null!;        // DaneTa's MX, from a private CA
    public TestCertificate BadCert { get; private set; } = null!;       // DaneBad's MX, self-signed
    public TestCertificate UnrelatedCert { get; private set; } = null!; // only its key is in DaneBad's TLSA
    public TestCertificate ServfailCert { get; private set; } = null!;  // TlsaServfail's MX; the bogus TLSA would match it

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
        OkCert = TestCertificates.SelfSigned(TestBed.DaneOk.Mx);
        TaCert = TestCertificates.IssuedByPrivateCa(TestBed.DaneTa.Mx, "SecureMx DANE-TA Test CA");
        BadCert = TestCertificates.SelfSigned(TestBed.DaneBad.Mx);
        UnrelatedCert = TestCertificates.SelfSigned("unrelated." + TestBed.DaneBad.Name);
        ServfailCert = TestCertificates.SelfSigned(TestBed.TlsaServfail.Mx);
        _certDir = Directory.CreateTempSubdirectory("securemx-mtls-certs-").FullName;
        var okFiles = OkCert.WritePem(_certDir, "dane-ok");
        var taFiles = TaCert.WritePem(_certDir, "dane-ta");
        var badFiles = BadCert.WritePem(_certDir, "dane-bad");
        var servfailFiles = ServfailCert.WritePem(_certDir, "tlsa-servfail");

        Dns = await DnsTestBed.StartAsync(Nets, records:
        [
            TestBed.DaneOk.TlsaLine(OkCert.TlsaDaneEe),
            TestBed.DaneTa.TlsaLine(TaCert.TlsaDaneTa),
            TestBed.TlsaServfail.TlsaLine(ServfailCert.TlsaDaneEe),
            TestBed.DaneBad.TlsaLine(UnrelatedCert.TlsaDaneEe),
        ]);
        var bedTime = sw.Elapsed;

        // The peers and the SecureMx instance do not depend on each other: start them side by side.
        async Task<PostfixPeer> Peer(TestBedZone zone, TestCertificateFiles? cert, string tls)
        {
            var peer = await PostfixPeer.StartMailboxAsync($"{Dns.AddressOf(zone.Mx)}:25", zone.Mx, zone.Name, cert, tls);
            lock (_peers) _peers.Add(peer);
            return peer;
        }
        var daneOk = Peer(TestBed.DaneOk, okFiles, "yes");
        var daneTa = Peer(TestBed.DaneTa, taFiles, "yes");
        var servfail = Peer(TestBed.TlsaServfail, servfailFiles, "yes");
        var daneBad = Peer(TestBed.DaneBad, badFiles, "yes");
        var unsigned = Peer(TestBed.Unsigned, null, "yes");
        var plain = Peer(TestBed.Plain, null, "no");
        var weak = Peer(TestBed.Weak, null, "weak");
        var instance = CreateInstanceAsync(Dns.Resolver);
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

    private static async Task<SecureMxInstance> CreateInstanceAsync(System.Net.IPEndPoint resolver)
    {
        var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test", "carol@example.test"], cfg =>
        {
            SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, resolver.ToString(), expireAfter: "60s", tlsExpireAfter: "8s");
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
