using System.Net;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Dashboard;

/// <summary>
/// One SecureMx with its dashboard for the browser tests, everything on 127.0.19: the DNSSEC test bed,
/// a Postfix mailbox peer for the bed's Plain domain that offers no STARTTLS, and SecureMx (MX and
/// dashboard on the bed's DemoDashboard address, the secure MX on the Demo domain's MX host, submission
/// listeners) hosting the Demo domain with alice (domain admin), bob and root (system admin), password
/// "password123". Queue times are seconds-scale, so mail to the Plain domain under mandatory TLS is
/// deferred within a second. Mail programs are told (account page, autoconfig) to read mail with IMAP
/// and POP3 over implicit TLS on <see cref="MailHost"/> (mailAccess; no Dovecot runs here).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public static string Domain => TestBed.Demo.Name;
    public static string Alice => "alice@" + Domain;
    public static string Bob => "bob@" + Domain;
    public static string Root => "root@" + Domain;
    public static string PlainDomain => TestBed.Plain.Name;
    public static string SecureMxHost => TestBed.Demo.Mx;

    /// <summary>mailAccess.host: where mail programs connect (a name of its own, not the hostname).</summary>
    public static string MailHost => "mail." + Domain;
    public const int ImapsPort = 993;
    public const int Pop3sPort = 995;

    /// <summary>The instance certificate (self-signed for the secure MX host; its TLSA 3 1 1 record is published).</summary>
    public TestCertificate Certificate { get; private set; } = null!;

    public DnsTestBed Dns { get; private set; } = null!;
    public PostfixPeer Plain { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;

    public string Url => Mx.DashboardUrl;

    public async ValueTask InitializeAsync()
    {
        // The Demo domain is published as a customer would after reading its domain page: MX at the secure
        // MX, whose TLSA record (signed) matches the instance certificate — the DNS check's good case.
        Certificate = TestCertificates.SelfSigned(SecureMxHost);
        Dns = await DnsTestBed.StartAsync(["127.0.19"], records: [TestBed.Demo.TlsaLine(Certificate.TlsaDaneEe)]);
        var peer = PostfixPeer.StartMailboxAsync($"{Dns.AddressOf(TestBed.Plain.Mx)}:25", TestBed.Plain.Mx, PlainDomain, null, "no");
        var instance = CreateInstanceAsync(Dns, Certificate);
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

    private static async Task<SecureMxInstance> CreateInstanceAsync(DnsTestBed dns, TestCertificate certificate)
    {
        var host = dns.Address(TestBed.DemoDashboard);
        // init --cert refers to the files (it does not copy them): they live as long as the fixture.
        var dir = CertificateDirectory;
        var certFile = Path.Combine(dir, "cert.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certFile, certificate.ChainPem);
        await File.WriteAllTextAsync(keyFile, certificate.KeyPem);
        var mx = await SecureMxInstance.CreateAsync(Domain, [Alice, Bob, Root],
            cfg =>
            {
                SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, dns.Resolver.ToString(), expireAfter: "10m");
                // Retries every second, but the warning times the pages show are the product's defaults.
                cfg["queue"]!["delayWarningAfter"] = "1h";
                // Every test logs in from 127.0.0.1, some several times: the per-minute cap is not what they test.
                cfg["dashboard"]!["loginAttemptsPerMinute"] = 100;
                cfg["mailAccess"] = new JsonObject
                {
                    ["host"] = MailHost,
                    ["imaps"] = Net.Text(new IPEndPoint(host, ImapsPort)),
                    ["pop3s"] = Net.Text(new IPEndPoint(host, Pop3sPort)),
                };
            },
            // One host name for both MX listeners, as the certificate (and the submission client's name check) has one name.
            hostname: SecureMxHost, submission: true, mx: new IPEndPoint(host, 25), dashboard: new IPEndPoint(host, 20443),
            secureMx: new IPEndPoint(dns.AddressOf(SecureMxHost), 25), secureMxHostname: SecureMxHost, certFile: certFile, keyFile: keyFile);
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
