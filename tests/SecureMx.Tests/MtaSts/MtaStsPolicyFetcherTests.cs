using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Telemetry;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.MtaSts;

/// <summary>
/// The policy fetch (RFC 8461 §3.3) against a real HTTPS server on 127.0.0.1 whose certificate a
/// private CA issued, the CA given as a PEM trust anchor (as delivery.trustAnchorsFile does), the
/// policy host's name resolved by the test's resolver only. Each failure has its RFC 8460 type.
/// </summary>
public sealed class MtaStsPolicyFetcherTests : IDisposable
{
    private const string Domain = "example.org";
    private const string PolicyText = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.mx.example.org\r\nmax_age: 86400\r\n";

    private readonly TempDirectory _dir = new();
    private readonly TestCertificate _certificate = TestCertificates.IssuedByPrivateCa("mta-sts.example.org");
    private readonly PkixTrust _trust;

    public MtaStsPolicyFetcherTests() => _trust = PkixTrust.Load(_certificate.WritePem(_dir.Path, "policy-host").CaFile!);

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>mta-sts.example.org is 127.0.0.1; TXT answers as given; every other name does not exist.</summary>
    private sealed class StubDns(Func<string, TxtResolution>? txt = null, Func<string, AddressResolution>? addresses = null) : IMailDnsResolver
    {
        public List<string> Asked { get; } = [];

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default)
        {
            lock (Asked) Asked.Add(host);
            return Task.FromResult(addresses?.Invoke(host) ?? (host == "mta-sts.example.org"
                ? AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure))
                : AddressResolution.Combine(host, DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure), DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure))));
        }

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken ct = default) =>
            Task.FromResult(txt?.Invoke(name) ?? TxtResolution.NoRecords(name, DnsSecurity.Insecure));

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) => throw new InvalidOperationException("not asked");

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("not asked");
    }

    private MtaStsPolicyFetcher Fetcher(int port, PkixTrust? trust = null, int fetchTimeoutSeconds = 20, int connectTimeoutSeconds = 20, IMailDnsResolver? dns = null)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.MtaSts.PolicyPort = port;
        options.MtaSts.FetchTimeoutSeconds = fetchTimeoutSeconds;
        options.Delivery.ConnectTimeoutSeconds = connectTimeoutSeconds;
        return new MtaStsPolicyFetcher(dns ?? new StubDns(), trust ?? _trust, options);
    }

    private static MtaStsFailure AssertFailed(MtaStsFetchResult result, TlsResultType type, string detail)
    {
        Assert.False(result.Succeeded, "the fetch succeeded");
        Assert.Null(result.Policy);
        var failure = result.Failure!;
        Assert.Equal(type, failure.Type);
        Assert.Contains(detail, failure.Detail);
        Assert.StartsWith(type.Name() + ": ", failure.ToString());
        return failure;
    }

    [Fact]
    public async Task AValidPolicyIsFetchedFromTheWellKnownUrlOfThePolicyHost()
    {
        var dns = new StubDns();
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText));
        var result = await Fetcher(host.Port, dns: dns).FetchAsync(Domain, Ct);
        Assert.True(result.Succeeded, result.Failure?.ToString());
        Assert.Equal(MtaStsMode.Enforce, result.Policy!.Mode);
        Assert.Equal(["mx1.example.org", "*.mx.example.org"], result.Policy.Mx);
        Assert.Equal(TimeSpan.FromDays(1), result.Policy.MaxAge);
        Assert.Equal(PolicyText, result.Body);
        var request = Assert.Single(host.Requests);
        Assert.StartsWith("GET /.well-known/mta-sts.txt HTTP/1.1\r\n", request);
        Assert.Contains($"Host: mta-sts.example.org:{host.Port}\r\n", request);
        Assert.Equal(["mta-sts.example.org"], dns.Asked); // through our resolver, not the system's
    }

    [Theory]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("TEXT/PLAIN;charset=\"US-ASCII\"")]
    public async Task TheContentTypesParametersAndCaseDoNotMatter(string contentType)
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText, contentType));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        Assert.True(result.Succeeded, result.Failure?.ToString());
    }

    [Fact]
    public void ThePolicyUrlNamesThePortOnlyWhenItIsNot443()
    {
        Assert.Equal("https://mta-sts.example.org/.well-known/mta-sts.txt", Fetcher(443).PolicyUrl(Domain).ToString());
        Assert.Equal("https://mta-sts.example.org:8443/.well-known/mta-sts.txt", Fetcher(8443).PolicyUrl(Domain).ToString());
    }

    [Fact]
    public async Task ACertificateOfAnUntrustedCaIsWebPkiInvalid()
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText));
        var result = await Fetcher(host.Port, trust: PkixTrust.SystemOnly).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.WebPkiInvalid, "mta-sts.example.org: certificate not trusted");
        Assert.Empty(host.Requests); // nothing is asked over a connection that is not authenticated
    }

    [Fact]
    public async Task ACertificateForAnotherNameIsWebPkiInvalid()
    {
        using var other = TestCertificates.IssuedByPrivateCa("www.example.org");
        await using var host = new HttpsHostStub(other, HttpsHostStub.Answer(PolicyText));
        var result = await Fetcher(host.Port, trust: new PkixTrust([other.Ca!])).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.WebPkiInvalid, "certificate is not for mta-sts.example.org (names: www.example.org)");
    }

    [Fact]
    public async Task AnExpiredCertificateIsWebPkiInvalid()
    {
        using var expired = TestCertificates.IssuedByPrivateCa("mta-sts.example.org", notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        await using var host = new HttpsHostStub(expired, HttpsHostStub.Answer(PolicyText));
        var result = await Fetcher(host.Port, trust: new PkixTrust([expired.Ca!])).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.WebPkiInvalid, "expired or not yet valid");
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task ARedirectIsNotFollowedButIsAFetchError(int status)
    {
        await using var host = new HttpsHostStub(_certificate,
            HttpsHostStub.Raw(status, "Location: https://mta-sts.example.org/elsewhere.txt\r\n", []));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, $"answered {status} (a redirect to https://mta-sts.example.org/elsewhere.txt); redirects are not followed");
        Assert.Single(host.Requests);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    [InlineData(204)]
    public async Task AStatusOtherThan200IsAFetchError(int status)
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText, status: status));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, $"answered {status}");
    }

    [Fact]
    public async Task AnotherContentTypeIsPolicyInvalid()
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText, "text/html; charset=utf-8"));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, "Content-Type is text/html, not text/plain");
    }

    [Fact]
    public async Task NoContentTypeIsPolicyInvalid()
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Raw(200, "", Encoding.ASCII.GetBytes(PolicyText)));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, "Content-Type is missing");
    }

    [Fact]
    public async Task ABodyThatIsNotAPolicyIsPolicyInvalid()
    {
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer("version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n"));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, "not a valid policy: no mx field");
    }

    [Fact]
    public async Task ABodyThatIsNotUtf8IsPolicyInvalid()
    {
        var body = Encoding.ASCII.GetBytes(PolicyText).Concat(new byte[] { 0xff, 0xfe, 0x0a }).ToArray();
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Raw(200, "Content-Type: text/plain\r\n", body));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, "not UTF-8");
    }

    [Fact]
    public async Task ABodyDeclaredLargerThan64KiBIsPolicyInvalid()
    {
        var body = Encoding.ASCII.GetBytes(PolicyText + new string('#', MtaStsPolicy.MaxBodyBytes));
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Raw(200, "Content-Type: text/plain\r\n", body));
        var result = await Fetcher(host.Port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, $"the body is {body.Length} bytes, more than the {MtaStsPolicy.MaxBodyBytes}");
    }

    [Fact]
    public async Task AnEndlessChunkedBodyIsCutAfter64KiBAndIsPolicyInvalid()
    {
        long sent = 0;
        await using var host = new HttpsHostStub(_certificate, async (stream, ct) =>
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), ct);
            var chunk = Encoding.ASCII.GetBytes($"1000\r\n{new string('x', 0x1000)}\r\n");
            while (!ct.IsCancellationRequested)
            {
                await stream.WriteAsync(chunk, ct); // until the client hangs up
                Interlocked.Add(ref sent, 0x1000);
            }
        });
        var watch = Stopwatch.StartNew();
        var result = await Fetcher(host.Port, fetchTimeoutSeconds: 30).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyInvalid, "longer than the 65536 bytes a policy may have (not read further)");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 1024, $"the server could send {Interlocked.Read(ref sent)} bytes");
    }

    [Fact]
    public async Task ABodyTrickledSlowlyIsCutAtTheFetchLimit()
    {
        await using var host = new HttpsHostStub(_certificate, async (stream, ct) =>
        {
            var body = Encoding.ASCII.GetBytes(PolicyText);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n"), ct);
            foreach (var b in body)
            {
                await stream.WriteAsync(new[] { b }, ct); // a byte every 250 ms: never idle long, never done in time
                await stream.FlushAsync(ct);
                await Task.Delay(250, ct);
            }
        });
        var watch = Stopwatch.StartNew();
        var result = await Fetcher(host.Port, fetchTimeoutSeconds: 2).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, "no complete answer within 2 s (mtaSts.fetchTimeoutSeconds)");
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AHostThatNeverAnswersIsCutAtTheFetchLimit()
    {
        await using var host = new HttpsHostStub(_certificate, (_, ct) => Task.Delay(Timeout.Infinite, ct));
        var watch = Stopwatch.StartNew();
        var result = await Fetcher(host.Port, fetchTimeoutSeconds: 2).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, "no complete answer within 2 s");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task AServerThatAcceptsButNeverShakesHandsIsCutAtTheConnectTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepted by the kernel, never a TLS answer
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var watch = Stopwatch.StartNew();
        var result = await Fetcher(port, fetchTimeoutSeconds: 30, connectTimeoutSeconds: 1).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, "no connection within 1 s");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ARefusedConnectionIsAFetchError()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var result = await Fetcher(port).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, $"no connection to mta-sts.example.org port {port} (127.0.0.1: ConnectionRefused)");
    }

    [Fact]
    public async Task APolicyHostWithoutAddressIsAFetchError()
    {
        var result = await Fetcher(443).FetchAsync("nowhere.example", Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, "mta-sts.nowhere.example has no address (A/AAAA)");
    }

    [Fact]
    public async Task AFailedAddressLookupIsAFetchError()
    {
        var dns = new StubDns(addresses: host => AddressResolution.Combine(host, DnsAnswer<IPAddress>.Fail("SERVFAIL"), DnsAnswer<IPAddress>.Fail("SERVFAIL")));
        var result = await Fetcher(443, dns: dns).FetchAsync(Domain, Ct);
        AssertFailed(result, TlsResultType.PolicyFetchError, "address lookup of mta-sts.example.org failed");
    }

    [Fact]
    public async Task EachFetchIsCountedByResult()
    {
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SecureMxMetrics.MeterName && instrument.Name == "securemx.delivery.mta_sts_fetches") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key != "result") continue;
                lock (counts) counts[(string)tag.Value!] = counts.GetValueOrDefault((string)tag.Value!) + value;
            }
        });
        listener.Start();
        await using var host = new HttpsHostStub(_certificate, HttpsHostStub.Answer(PolicyText));
        Assert.True((await Fetcher(host.Port).FetchAsync(Domain, Ct)).Succeeded);
        Assert.False((await Fetcher(host.Port, trust: PkixTrust.SystemOnly).FetchAsync(Domain, Ct)).Succeeded);
        lock (counts)
        {
            Assert.True(counts.GetValueOrDefault("ok") >= 1, "ok not counted");
            Assert.True(counts.GetValueOrDefault("sts-webpki-invalid") >= 1, "sts-webpki-invalid not counted");
        }
    }

    [Fact]
    public async Task DiscoveryAsksTheMtaStsNameAndFindsItsOneRecord()
    {
        var asked = new List<string>();
        var dns = new StubDns(txt: name =>
        {
            asked.Add(name);
            return TxtResolution.Found(name, ["v=spf1 -all", "v=STSv1; id=20160831085700Z;"], DnsSecurity.Insecure);
        });
        var discovery = await Fetcher(443, dns: dns).DiscoverAsync(Domain, Ct);
        Assert.Equal(MtaStsDiscoveryKind.Record, discovery.Kind);
        Assert.Equal("20160831085700Z", discovery.Record!.Id);
        Assert.Equal(["_mta-sts.example.org"], asked);
    }

    [Fact]
    public async Task DiscoveryTellsNoRecordAnInvalidOneAndAFailedLookupApart()
    {
        var none = await Fetcher(443, dns: new StubDns(txt: n => TxtResolution.NoRecords(n, DnsSecurity.Secure))).DiscoverAsync(Domain, Ct);
        Assert.Equal(MtaStsDiscovery.NoRecord, none);
        var other = await Fetcher(443, dns: new StubDns(txt: n => TxtResolution.Found(n, ["v=spf1 -all"], DnsSecurity.Secure))).DiscoverAsync(Domain, Ct);
        Assert.Equal(MtaStsDiscoveryKind.NoRecord, other.Kind);
        var two = await Fetcher(443, dns: new StubDns(txt: n => TxtResolution.Found(n, ["v=STSv1; id=a", "v=STSv1; id=b"], DnsSecurity.Secure))).DiscoverAsync(Domain, Ct);
        Assert.Equal(MtaStsDiscoveryKind.Invalid, two.Kind);
        Assert.Contains("_mta-sts.example.org: 2 TXT records begin with v=STSv1", two.Reason);
        var failed = await Fetcher(443, dns: new StubDns(txt: n => TxtResolution.Failed(n, "SERVFAIL"))).DiscoverAsync(Domain, Ct);
        Assert.Equal(MtaStsDiscoveryKind.TemporaryFailure, failed.Kind);
        Assert.Equal("TXT lookup of _mta-sts.example.org failed: SERVFAIL", failed.Reason);
    }
}
