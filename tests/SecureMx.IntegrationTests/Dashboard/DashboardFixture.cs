using System.Net;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Dashboard;

/// <summary>
/// One SecureMx with its dashboard for the browser tests, everything on 127.0.19: the DNSSEC test bed
/// (NET.1 knot, NET.2 unbound), a Postfix mailbox peer for plain.test at NET.24 that offers no STARTTLS,
/// and SecureMx (MX NET.40:25, secure MX NET.41:25, dashboard https://NET.40:20443, submission listeners) hosting demo.test
/// with alice (domain admin of demo.test), bob and root (system admin), password "password123".
/// Queue times are seconds-scale, so mail to plain.test under mandatory TLS is deferred within a second.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Domain = "demo.test";
    public const string Alice = "alice@demo.test";
    public const string Bob = "bob@demo.test";
    public const string Root = "root@demo.test";
    public const string PlainDomain = "plain.test";
    public const string SecureMxHost = "securemx.demo.test";

    /// <summary>The instance certificate (self-signed for the secure MX host; its TLSA 3 1 1 record is published).</summary>
    public TestCertificate Certificate { get; private set; } = null!;

    public DnsTestBed Dns { get; private set; } = null!;
    public PostfixPeer Plain { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;

    public string Url => Mx.DashboardUrl;

    public async ValueTask InitializeAsync()
    {
        // demo.test is published as a customer would after reading its domain page: MX at the secure
        // MX, whose TLSA record (signed) matches the instance certificate — the DNS check's good case.
        Certificate = TestCertificates.SelfSigned(SecureMxHost);
        Dns = await DnsTestBed.StartAsync(["127.0.19"], records: net => $"""
            plain.test. MX 10 mx.plain.test.
            mx.plain.test. A {net}.24
            {Domain}. MX 10 {SecureMxHost}.
            {SecureMxHost}. A {net}.41
            _25._tcp.{SecureMxHost}. TLSA {Certificate.TlsaDaneEe}
            """);
        var net = Dns.Net;
        var peer = PostfixPeer.StartMailboxAsync($"{net}.24:25", "mx.plain.test", PlainDomain, null, "no");
        var instance = CreateInstanceAsync(net, Certificate);
        try
        {
            await Task.WhenAll(peer, instance);
        }
        finally
        {
            // Whatever did start is disposed with the fixture, even if the other part failed.
            if (peer.IsCompletedSuccessfully) Plain = peer.Result;
            if (instance.IsCompletedSuccessfully) Mx = instance.Result;
        }
        await Mx.StartAsync();
    }

    private static readonly string CertificateDirectory = Directory.CreateTempSubdirectory("securemx-dashboard-cert-").FullName;

    private static async Task<SecureMxInstance> CreateInstanceAsync(string net, TestCertificate certificate)
    {
        var host = IPAddress.Parse($"{net}.40");
        // init --cert refers to the files (it does not copy them): they live as long as the fixture.
        var dir = CertificateDirectory;
        var certFile = Path.Combine(dir, "cert.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certFile, certificate.ChainPem);
        await File.WriteAllTextAsync(keyFile, certificate.KeyPem);
        var mx = await SecureMxInstance.CreateAsync(Domain, [Alice, Bob, Root],
            cfg =>
            {
                SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, $"{net}.2:53", expireAfter: "10m");
                // Retries every second, but the warning times the pages show are the product's defaults.
                cfg["queue"]!["delayWarningAfter"] = "1h";
            },
            // One host name for both MX listeners, as the certificate (and the submission client's name check) has one name.
            hostname: SecureMxHost, submission: true, mx: new IPEndPoint(host, 25), dashboard: new IPEndPoint(host, 20443),
            secureMx: new IPEndPoint(IPAddress.Parse($"{net}.41"), 25), secureMxHostname: SecureMxHost, certFile: certFile, keyFile: keyFile);
        await mx.CliOk("domain", "admin", "add", Domain, Alice);
        await mx.CliOk("admin", "add", Root);
        return mx;
    }

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            try { await Mx.StopAsync(); } catch (Exception) { }
            await Mx.DisposeAsync();
        }
        if (Plain is not null) await Plain.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
        Certificate?.Dispose();
        Directory.Delete(CertificateDirectory, recursive: true);
    }
}
