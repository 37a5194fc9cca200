using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// REQUIRETLS (RFC 8689) on the DNSSEC test bed (on the first free prefix of <see cref="Nets"/>):
/// <list type="bullet">
/// <item>DaneOk: a Postfix peer with a matching TLSA 3 1 1 — authenticated TLS, but Postfix does not advertise REQUIRETLS.</item>
/// <item>DaneBad: a Postfix peer whose TLSA names another key (for "TLS-Required: No").</item>
/// <item>RequireTls: an in-process server (<see cref="RequireTlsSmtpPeer"/>) that advertises REQUIRETLS, TLSA 3 1 1 of its key.</item>
/// <item>Deliver: its MX address has no listener here (a host that is down).</item>
/// </list>
/// One running SecureMx resolves through the bed and hosts example.test (alice, bob, carol) with submission listeners.
/// </summary>
public sealed class RequireTlsFixture : IAsyncLifetime
{
    public static readonly string[] Nets = ["127.0.81", "127.0.82", "127.0.83"];

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;
    public PostfixPeer DaneOk { get; private set; } = null!;
    public PostfixPeer DaneBad { get; private set; } = null!;
    public RequireTlsSmtpPeer RequireTls { get; private set; } = null!;

    private TestCertificate? _okCert, _badCert, _unrelatedCert, _requireTlsCert;
    private string? _certDir;

    public async ValueTask InitializeAsync()
    {
        _okCert = TestCertificates.SelfSigned(TestBed.DaneOk.Mx);
        _badCert = TestCertificates.SelfSigned(TestBed.DaneBad.Mx);
        _unrelatedCert = TestCertificates.SelfSigned("unrelated." + TestBed.DaneBad.Name);
        _requireTlsCert = TestCertificates.SelfSigned(TestBed.RequireTls.Mx);
        _certDir = Directory.CreateTempSubdirectory("securemx-requiretls-certs-").FullName;
        var okFiles = _okCert.WritePem(_certDir, "dane-ok");
        var badFiles = _badCert.WritePem(_certDir, "dane-bad");

        Dns = await DnsTestBed.StartAsync(Nets, records:
        [
            TestBed.DaneOk.TlsaLine(_okCert.TlsaDaneEe),
            TestBed.DaneBad.TlsaLine(_unrelatedCert.TlsaDaneEe),
            TestBed.RequireTls.TlsaLine(_requireTlsCert.TlsaDaneEe),
        ]);
        RequireTls = new RequireTlsSmtpPeer(new System.Net.IPEndPoint(Dns.AddressOf(TestBed.RequireTls.Mx), 25), TestBed.RequireTls.Mx, _requireTlsCert.Leaf);
        var daneOk = PostfixPeer.StartMailboxAsync($"{Dns.AddressOf(TestBed.DaneOk.Mx)}:25", TestBed.DaneOk.Mx, TestBed.DaneOk.Name, okFiles, "yes");
        var daneBad = PostfixPeer.StartMailboxAsync($"{Dns.AddressOf(TestBed.DaneBad.Mx)}:25", TestBed.DaneBad.Mx, TestBed.DaneBad.Name, badFiles, "yes");
        var resolver = Dns.Resolver.ToString();
        var instance = SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test", "carol@example.test"],
            cfg => SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, resolver, expireAfter: "60s", tlsExpireAfter: "30s"), submission: true);
        try
        {
            await Task.WhenAll(daneOk, daneBad, instance);
        }
        finally
        {
            if (daneOk.IsCompletedSuccessfully) DaneOk = daneOk.Result;
            if (daneBad.IsCompletedSuccessfully) DaneBad = daneBad.Result;
            if (instance.IsCompletedSuccessfully) Mx = instance.Result;
        }
        await Mx.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            try { await Mx.StopAsync(); } catch (Exception) { }
            await Mx.DisposeAsync();
        }
        if (DaneOk is not null) await DaneOk.DisposeAsync();
        if (DaneBad is not null) await DaneBad.DisposeAsync();
        if (RequireTls is not null) await RequireTls.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
        foreach (var c in new[] { _okCert, _badCert, _unrelatedCert, _requireTlsCert }) c?.Dispose();
        if (_certDir is not null)
        {
            try { Directory.Delete(_certDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
