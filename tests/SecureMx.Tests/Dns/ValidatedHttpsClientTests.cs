using System.Net;
using SecureMx.Dns;
using SecureMx.TestKit;
using SecureMx.Tests.MtaSts;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Dns;

/// <summary>
/// The one HTTPS client of the MTA-STS policy fetch and the TLS report POST, against a real HTTPS
/// host on 127.0.0.1 whose certificate a private CA issued (given as a trust anchor), its name known
/// only to the test's resolver.
/// </summary>
public sealed class ValidatedHttpsClientTests : IDisposable
{
    private const string Host = "https-host.example.org";

    private readonly TempDirectory _dir = new();
    private readonly TestCertificate _certificate = TestCertificates.IssuedByPrivateCa(Host);
    private readonly PkixTrust _trust;

    public ValidatedHttpsClientTests() => _trust = PkixTrust.Load(_certificate.WritePem(_dir.Path, "https-host").CaFile!);

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Answers <see cref="Host"/> (and any name in <see cref="Names"/>) with <see cref="Addresses"/>; every other name does not exist.</summary>
    private sealed class HostDns : IMailDnsResolver
    {
        public IPAddress[] Addresses { get; init; } = [IPAddress.Loopback];

        public HashSet<string> Names { get; } = new(StringComparer.OrdinalIgnoreCase) { Host };

        public List<string> Asked { get; } = [];

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default)
        {
            lock (Asked) Asked.Add(host);
            return Task.FromResult(Names.Contains(host)
                ? AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found(Addresses, DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure))
                : AddressResolution.Combine(host, DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure), DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure)));
        }

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken ct = default) => throw new InvalidOperationException("not asked");

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) => throw new InvalidOperationException("not asked");

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("not asked");
    }

    private ValidatedHttpsClient Client(IMailDnsResolver dns, PkixTrust? trust = null, string host = Host) =>
        new(dns, trust ?? _trust, host, TimeSpan.FromSeconds(20), TimeProvider.System);

    [Fact]
    public async Task TheHostIsReachedAtTheResolversAddressesTriedInOrderAsHttp11WithSecureMxAsUserAgent()
    {
        await using var server = new HttpsHostStub(_certificate, HttpsHostStub.Answer("hello"));
        // 127.0.0.2 refuses (the stub listens on 127.0.0.1 only): the next address is tried.
        var dns = new HostDns { Addresses = [IPAddress.Parse("127.0.0.2"), IPAddress.Loopback] };
        using var client = Client(dns);

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}:{server.Port}/x"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal([Host], dns.Asked);
        Assert.True(client.CertificateVerdict?.Valid);
        var head = Assert.Single(server.Requests);
        Assert.StartsWith("GET /x HTTP/1.1\r\n", head);
        Assert.Contains("User-Agent: SecureMx\r\n", head);
    }

    [Fact]
    public async Task ARedirectIsTheAnswerNotFollowed()
    {
        await using var server = new HttpsHostStub(_certificate, HttpsHostStub.Raw(302, $"Location: https://{Host}/elsewhere\r\n", []));
        using var client = Client(new HostDns());

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}:{server.Port}/x"), Ct);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AnUntrustedCertificateIsRefusedBeforeAnyRequestWithItsVerdict()
    {
        await using var server = new HttpsHostStub(_certificate, HttpsHostStub.Answer("hello"));
        using var client = Client(new HostDns(), PkixTrust.SystemOnly);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}:{server.Port}/x"), Ct));

        Assert.False(client.CertificateVerdict?.Valid);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ACertificateForAnotherNameIsRefused()
    {
        await using var server = new HttpsHostStub(_certificate, HttpsHostStub.Answer("hello"));
        var dns = new HostDns { Names = { "other.example.org" } };
        using var client = Client(dns, host: "other.example.org");

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://other.example.org:{server.Port}/x"), Ct));

        Assert.False(client.CertificateVerdict?.Valid);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ANameTheResolverDoesNotKnowIsNotConnectedTo()
    {
        using var client = Client(new HostDns(), host: "unknown.example.org");

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "https://unknown.example.org/x"), Ct));

        Assert.Contains("unknown.example.org has no address", ex.ToString());
        Assert.Null(client.CertificateVerdict);
    }

    [Fact]
    public async Task EveryAddressRefusingIsOneErrorNamingEach()
    {
        var port = LoopbackPort.Closed();
        using var client = Client(new HostDns { Addresses = [IPAddress.Parse("127.0.0.2"), IPAddress.Loopback] });

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}:{port}/x"), Ct));

        Assert.Contains($"no connection to {Host} port {port} (127.0.0.2: ConnectionRefused, 127.0.0.1: ConnectionRefused)", ex.ToString());
    }
}
