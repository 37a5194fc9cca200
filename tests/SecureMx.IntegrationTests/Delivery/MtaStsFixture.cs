using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.MtaSts;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// The outbound MTA-STS "test internet" (RFC 8461): the DNSSEC test bed (on the first free prefix of
/// <see cref="Nets"/>) with one recipient domain per case, each with its "_mta-sts" TXT record, a Postfix
/// "mailbox" peer as its one MX and an HTTPS policy host (<see cref="MtaStsPolicyHost"/>, <see cref="PolicyPort"/> on the
/// address of mta-sts.DOMAIN) serving the policy below; and one running SecureMx that resolves through the
/// bed and trusts the fixture's private CAs (<c>delivery.trustAnchorsFile</c>), with seconds-scale retries.
/// </summary>
/// <remarks>
/// Domains (<see cref="TestBed"/>; the policy served, and the MX host's certificate):
/// <list type="bullet">
/// <item>StsEnforce: enforce, mx: its MX; certificate from a private CA for the MX name → delivered, verification mta-sts.</item>
/// <item>StsBadMx: enforce, mx: *.elsewhere.test; certificate from a private CA → deferred before any connection.</item>
/// <item>StsBadCert: enforce, mx: its MX; self-signed certificate → deferred after the handshake, nothing sent.</item>
/// <item>StsTesting: testing, mx: *.sts-testing.test; certificate from a private CA for another name → delivered, failure recorded.</item>
/// <item>StsDane: enforce, mx: *.elsewhere.test; self-signed certificate, DNSSEC-secure TLSA 3 1 1 of it → DANE wins, delivered.</item>
/// <item>StsDown: enforce, mx: *.elsewhere.test, max_age a day; the test stops its policy host after the first fetch.</item>
/// <item>StsExpire: as StsDown with max_age <see cref="ShortMaxAge"/>: once it has expired and the host is gone, no policy applies.</item>
/// <item>StsHostile: enforce, mx: *.elsewhere.test, but the body is padded past the 64 KiB limit (<see cref="OversizedBodyBytes"/>,
/// without Content-Length): refused, so no policy applies.</item>
/// <item>StsSlow: enforce, mx: *.elsewhere.test, sent a byte a second (<see cref="SlowHostDrip"/>): the fetch is cut at
/// <see cref="FetchTimeoutSeconds"/>, so no policy applies.</item>
/// </list>
/// Every policy host certificate is for mta-sts.DOMAIN from a private CA. An MX whose policy does not list it still has a
/// valid certificate, so the listing alone decides. SecureMx hosts example.test (alice) with submission listeners.
/// </remarks>
public sealed class MtaStsFixture : IAsyncLifetime
{
    public static readonly string[] Nets = ["127.0.24", "127.0.26", "127.0.28"];

    /// <summary>The max_age of StsExpire's policy: short enough to pass within a test, long enough to see the policy applied first.</summary>
    public static readonly TimeSpan ShortMaxAge = TimeSpan.FromSeconds(6);

    /// <summary>The max_age of every other policy.</summary>
    public static readonly TimeSpan LongMaxAge = TimeSpan.FromDays(1);

    /// <summary>The port of the policy hosts, given to the instance as mtaSts.policyPort (RFC 8461's is 443).</summary>
    public const int PolicyPort = 8443;

    /// <summary>The MX pattern of the policies that do not list their domain's MX.</summary>
    public const string ElsewhereMx = "*.elsewhere.test";

    /// <summary>The size of StsHostile's policy body: its policy lines first, then ignored "x-padding" lines past <see cref="MtaStsPolicy.MaxBodyBytes"/>.</summary>
    public const int OversizedBodyBytes = 100 * 1024;

    /// <summary>mtaSts.fetchTimeoutSeconds of the instance: above what a fetch takes on a loaded machine, short enough for a test.</summary>
    public const int FetchTimeoutSeconds = 8;

    /// <summary>How StsSlow's host sends its policy: a byte per interval (about 90 s for the whole policy).</summary>
    public static readonly TimeSpan SlowHostDrip = TimeSpan.FromSeconds(1);

    public static TestBedZone[] Domains =>
        [TestBed.StsEnforce, TestBed.StsBadMx, TestBed.StsBadCert, TestBed.StsTesting, TestBed.StsDane, TestBed.StsDown, TestBed.StsExpire, TestBed.StsHostile, TestBed.StsSlow];

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;

    /// <summary>The policy each domain's host serves (as set at the start).</summary>
    public IReadOnlyDictionary<string, MtaStsPolicy> Policies { get; private set; } = null!;

    /// <summary>The Postfix peer of each domain (by domain name).</summary>
    public IReadOnlyDictionary<string, PostfixPeer> Peers => _peers;

    /// <summary>The policy host of each domain (by domain name).</summary>
    public IReadOnlyDictionary<string, MtaStsPolicyHost> PolicyHosts => _hosts;

    /// <summary>The certificate each MX host serves (by domain name).</summary>
    public IReadOnlyDictionary<string, TestCertificate> MxCertificates => _mxCerts;

    /// <summary>The certificate of each domain's TLS report collector (by domain name: sts-enforce.test, sts-testing.test).</summary>
    public IReadOnlyDictionary<string, TestCertificate> CollectorCertificates => _collectorCerts;

    /// <summary>The host of a domain's TLS report collector (dns-testbed.zones): tlsrpt.DOMAIN.</summary>
    public static string CollectorHostName(TestBedZone zone) => "tlsrpt." + zone.Name;

    /// <summary>The PEM file of the private CAs (delivery.trustAnchorsFile).</summary>
    public string TrustAnchorsFile { get; private set; } = "";

    /// <summary>Wall-clock time of the whole start, and where it went.</summary>
    public TimeSpan StartTime { get; private set; }
    public string StartDetail { get; private set; } = "";

    /// <summary>The measured rows of the table "domain × policy → outcome", filled by the tests.</summary>
    public ConcurrentDictionary<string, MtaStsOutcome> Outcomes { get; } = new(StringComparer.Ordinal);

    public string Net => Dns.Net;

    private readonly ConcurrentDictionary<string, PostfixPeer> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MtaStsPolicyHost> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TestCertificate> _mxCerts = new(StringComparer.Ordinal);
    private readonly List<TestCertificate> _hostCerts = [];
    private readonly Dictionary<string, TestCertificate> _collectorCerts = new(StringComparer.Ordinal);
    private string? _certDir;

    /// <summary>The body the policy host of <paramref name="zone"/> serves: the policy's text, for StsHostile padded to <see cref="OversizedBodyBytes"/>.</summary>
    public string ServedText(TestBedZone zone)
    {
        var text = Policies[zone.Name].ToText();
        if (zone.Name != TestBed.StsHostile.Name) return text;
        var padding = "x-padding: " + new string('a', 100) + "\r\n";
        var body = new System.Text.StringBuilder(text);
        while (body.Length + padding.Length <= OversizedBodyBytes) body.Append(padding);
        return body.ToString();
    }

    /// <summary>The policy host's name of <paramref name="zone"/>: mta-sts.DOMAIN.</summary>
    public static string PolicyHostName(TestBedZone zone) => MtaStsTxtRecord.PolicyHost(zone.Name);

    public async ValueTask InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        _certDir = Directory.CreateTempSubdirectory("securemx-mtasts-certs-").FullName;
        static string CaName(string host) => $"SecureMx MTA-STS Test CA for {host}";
        _mxCerts[TestBed.StsEnforce.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsEnforce.Mx, CaName(TestBed.StsEnforce.Mx));
        _mxCerts[TestBed.StsBadMx.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsBadMx.Mx, CaName(TestBed.StsBadMx.Mx));
        _mxCerts[TestBed.StsBadCert.Name] = TestCertificates.SelfSigned(TestBed.StsBadCert.Mx);
        _mxCerts[TestBed.StsTesting.Name] = TestCertificates.IssuedByPrivateCa("other." + TestBed.StsTesting.Name, CaName(TestBed.StsTesting.Mx));
        _mxCerts[TestBed.StsDane.Name] = TestCertificates.SelfSigned(TestBed.StsDane.Mx);
        _mxCerts[TestBed.StsDown.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsDown.Mx, CaName(TestBed.StsDown.Mx));
        _mxCerts[TestBed.StsExpire.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsExpire.Mx, CaName(TestBed.StsExpire.Mx));
        _mxCerts[TestBed.StsHostile.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsHostile.Mx, CaName(TestBed.StsHostile.Mx));
        _mxCerts[TestBed.StsSlow.Name] = TestCertificates.IssuedByPrivateCa(TestBed.StsSlow.Mx, CaName(TestBed.StsSlow.Mx));

        static MtaStsPolicy Policy(MtaStsMode mode, string mx, TimeSpan? maxAge = null) => new(mode, [mx], maxAge ?? LongMaxAge);
        Policies = new Dictionary<string, MtaStsPolicy>(StringComparer.Ordinal)
        {
            [TestBed.StsEnforce.Name] = Policy(MtaStsMode.Enforce, TestBed.StsEnforce.Mx),
            [TestBed.StsBadMx.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx),
            [TestBed.StsBadCert.Name] = Policy(MtaStsMode.Enforce, TestBed.StsBadCert.Mx),
            [TestBed.StsTesting.Name] = Policy(MtaStsMode.Testing, "*." + TestBed.StsTesting.Name),
            [TestBed.StsDane.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx),
            [TestBed.StsDown.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx),
            [TestBed.StsExpire.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx, ShortMaxAge),
            [TestBed.StsHostile.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx),
            [TestBed.StsSlow.Name] = Policy(MtaStsMode.Enforce, ElsewhereMx),
        };

        // Every CA that issued a certificate here is a trust anchor of the instance: MX hosts and policy hosts.
        var hostCerts = Domains.ToDictionary(z => z.Name, z => TestCertificates.IssuedByPrivateCa(PolicyHostName(z), CaName(PolicyHostName(z))));
        _hostCerts.AddRange(hostCerts.Values);
        // The TLS report collectors of sts-enforce.test and sts-testing.test (their "_smtp._tls" rua=https:).
        foreach (var zone in new[] { TestBed.StsEnforce, TestBed.StsTesting })
            _collectorCerts[zone.Name] = TestCertificates.IssuedByPrivateCa(CollectorHostName(zone), CaName(CollectorHostName(zone)));
        _hostCerts.AddRange(_collectorCerts.Values);
        TrustAnchorsFile = Path.Combine(_certDir, "trust-anchors.pem");
        await File.WriteAllTextAsync(TrustAnchorsFile, string.Concat(_mxCerts.Values.Concat(_hostCerts)
            .Where(c => c.Ca is not null).Select(c => c.Ca!.ExportCertificatePem() + "\n")));

        Dns = await DnsTestBed.StartAsync(Nets, records: [TestBed.StsDane.TlsaLine(_mxCerts[TestBed.StsDane.Name].TlsaDaneEe)]);
        var bedTime = sw.Elapsed;

        foreach (var zone in Domains)
        {
            var host = new MtaStsPolicyHost(new IPEndPoint(Dns.AddressOf(PolicyHostName(zone)), PolicyPort), [hostCerts[zone.Name]]);
            host.SetPolicy(PolicyHostName(zone), ServedText(zone));
            // The oversized body comes without Content-Length: only the reader's own limit can stop it.
            host.SendContentLength = zone.Name != TestBed.StsHostile.Name;
            if (zone.Name == TestBed.StsSlow.Name) host.DripInterval = SlowHostDrip;
            _hosts[zone.Name] = host;
            host.Start();
        }

        // The peers and the SecureMx instance do not depend on each other: start them side by side.
        async Task Peer(TestBedZone zone)
        {
            var files = _mxCerts[zone.Name].WritePem(_certDir, zone.Name);
            var peer = await PostfixPeer.StartMailboxAsync($"{Dns.AddressOf(zone.Mx)}:25", zone.Mx, zone.Name, files, "yes");
            _peers[zone.Name] = peer;
        }
        var instance = CreateInstanceAsync(Dns.Resolver, TrustAnchorsFile);
        var starts = Domains.Select(Peer).Append(instance).ToList();
        try
        {
            await Task.WhenAll(starts);
        }
        finally
        {
            if (instance.IsCompletedSuccessfully) Mx = instance.Result; // disposed with the rest if a peer failed
        }
        var peersTime = sw.Elapsed;
        await Mx.StartAsync();
        StartTime = sw.Elapsed;
        StartDetail = $"DNS test bed {bedTime.TotalSeconds:F1} s, {Domains.Length} peers and instance {(peersTime - bedTime).TotalSeconds:F1} s, serve {(StartTime - peersTime).TotalSeconds:F1} s";
    }

    private static async Task<SecureMxInstance> CreateInstanceAsync(IPEndPoint resolver, string trustAnchors) =>
        await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"], cfg =>
        {
            SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, resolver.ToString(), expireAfter: "300s");
            cfg["delivery"]!["trustAnchorsFile"] = trustAnchors;
            cfg["mtaSts"] = new System.Text.Json.Nodes.JsonObject { ["policyPort"] = PolicyPort, ["fetchTimeoutSeconds"] = FetchTimeoutSeconds };
        }, submission: true);

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            try { await Mx.StopAsync(); } catch (Exception) { }
            await Mx.DisposeAsync();
            Mx = null!;
        }
        await Task.WhenAll(_peers.Values.Select(p => p.DisposeAsync().AsTask()).Concat(_hosts.Values.Select(h => h.DisposeAsync().AsTask())));
        _peers.Clear();
        _hosts.Clear();
        if (Dns is not null)
        {
            await Dns.DisposeAsync();
            Dns = null!;
        }
        foreach (var c in _mxCerts.Values.Concat(_hostCerts)) c.Dispose();
        if (_certDir is not null)
        {
            try { Directory.Delete(_certDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            _certDir = null;
        }
    }
}

/// <summary>One measured row of the table "domain × policy → outcome".</summary>
/// <param name="Result">delivered, deferred, …</param>
/// <param name="Verification">The delivery log's verification (tls=…) of the outcome.</param>
/// <param name="Elapsed">From the submission to the outcome (delivered at the peer, or deferred in the queue).</param>
/// <param name="Detail">The reason or note (e.g. the deferral's text), shortened.</param>
public sealed record MtaStsOutcome(string Domain, string Policy, string Case, string Result, string Verification, TimeSpan Elapsed, string Detail);
