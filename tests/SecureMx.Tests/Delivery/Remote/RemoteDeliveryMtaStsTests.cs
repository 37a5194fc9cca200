using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Spool;
using SecureMx.Telemetry;
using SecureMx.TestKit;
using SecureMx.Tests.Queue;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// MTA-STS in outbound delivery (RFC 8461 §4, §5) against a real SMTP peer in process, a private CA
/// as the extra trust anchor (delivery.trustAnchorsFile) and a policy source given by the test:
/// enforce, testing, DANE first, the operator's destination override, a policy that cannot be had,
/// a source that breaks. The test bed covers the same rows end to end with an HTTPS policy host.
/// </summary>
public sealed class RemoteDeliveryMtaStsTests : IDisposable
{
    private const string PolicyId = "20261205";

    private static readonly Lazy<TestCertificate> MxCertificate = new(() => TestCertificates.IssuedByPrivateCa("mx.example.org"));
    private static readonly Lazy<TestCertificate> OtherNameCertificate = new(() => TestCertificates.IssuedByPrivateCa("mail.elsewhere.test"));

    private readonly ConcurrentQueue<string> _log = new();
    private readonly MeterListener _meter = new();
    private readonly ConcurrentQueue<(string? Mode, string? Result)> _counted = new();

    public RemoteDeliveryMtaStsTests()
    {
        _meter.InstrumentPublished = (i, l) => { if (i.Meter.Name == SecureMxMetrics.MeterName && i.Name == "securemx.delivery.mta_sts_failures") l.EnableMeasurementEvents(i); };
        _meter.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? mode = null, result = null;
            foreach (var t in tags)
            {
                if (t.Key == "mode") mode = t.Value as string;
                if (t.Key == "result") result = t.Value as string;
            }
            _counted.Enqueue((mode, result));
        });
        _meter.Start();
    }

    public void Dispose() => _meter.Dispose();

    private int Counted(string mode, string result) => _counted.Count(c => c.Mode == mode && c.Result == result);

    /// <summary>A policy source that answers what the test says (or throws), and counts the questions.</summary>
    private sealed class FakePolicySource(Func<string, MtaStsLookup> answer) : IMtaStsPolicySource
    {
        public int Asked;

        public Task<MtaStsLookup> GetAsync(string domain, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Asked);
            return Task.FromResult(answer(domain));
        }
    }

    private static FakePolicySource Policy(MtaStsMode mode, params string[] mx) =>
        new(_ => new MtaStsLookup(MtaStsLookupKind.Policy, new MtaStsPolicy(mode, mx, TimeSpan.FromDays(7)), PolicyId, DateTimeOffset.UtcNow.AddDays(7)));

    /// <summary>One MX host (any name) on loopback; DNSSEC status and TLSA as the test says.</summary>
    private sealed class OneMxDns(string mxHost, DnsSecurity security = DnsSecurity.Insecure, Func<TlsaResolution>? tlsa = null) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [(mxHost, 10)], security, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], security), DnsAnswer<IPAddress>.NoData(security)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) =>
            Task.FromResult(TxtResolution.NoRecords(name, security));

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) =>
            Task.FromResult(tlsa?.Invoke() ?? TlsaResolution.FromAnswer($"_25._tcp.{host}", DnsAnswer<TlsaRecordData>.NoData(security)));
    }

    private async Task<RemoteOutcome> DeliverAsync(int port, IMailDnsResolver dns, IMtaStsPolicySource? source, OutboundTlsLevel level = OutboundTlsLevel.May,
        bool useDane = true)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = port;
        options.Delivery.ConnectTimeoutSeconds = 10;
        var trust = new PkixTrust([MxCertificate.Value.Ca!]);
        var remote = new RemoteDelivery(dns, options, new RecordingLogger<RemoteDelivery>(_log), mtaSts: source, trust: trust);
        return await RemoteTestMessage.DeliverAsync(remote, level, useDane);
    }

    [Theory]
    [InlineData("mx.example.org")]
    [InlineData("*.example.org")]
    public async Task EnforceDeliversToAListedMxWithAPkixValidCertificateAndLogsMtaSts(string pattern)
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Enforce, pattern));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.MtaSts, o.Tls!.Verification);
        Assert.Equal("mta-sts", o.Tls.Verification.Name());
        Assert.True(o.Tls.IsStrict, $"{o.Tls.Protocol} {o.Tls.CipherSuite}");
        Assert.Null(o.MtaStsFailure);
        Assert.Single(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task EnforceSendsNothingToAnMxThePolicyDoesNotListAndDefersNamingThePolicy()
    {
        // Not an SMTP server: a listener that is never accepted from; a connection attempt would wait in its backlog.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var before = Counted("enforce", "validation-failure");
            var o = await DeliverAsync(((IPEndPoint)listener.LocalEndpoint).Port, new OneMxDns("mx.evil.test"), Policy(MtaStsMode.Enforce, "mx.example.org"));
            Assert.Equal((RecipientState.Deferred, OutcomeReason.TlsRequirement, EnhancedStatus.CryptographicFailure, 451), (o.State, o.Reason, o.Enhanced, o.Code));
            Assert.Contains($"mx.evil.test is not listed in the MTA-STS policy of example.org (enforce, id {PolicyId})", o.Text);
            Assert.True(o.RequiredByMtaSts);
            Assert.StartsWith("validation-failure: mx.evil.test is not listed in the MTA-STS policy of example.org", o.MtaStsFailure);
            Assert.False(listener.Pending(), "nothing may connect to an MX host the policy does not list");
            Assert.True(Counted("enforce", "validation-failure") > before);
            Assert.Contains(_log, l => l.Contains("mx.evil.test is not listed in the MTA-STS policy of example.org", StringComparison.Ordinal));
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task EnforceDefersAnUntrustedCertificateAndNeverSends()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed: no path to a trusted CA
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Enforce, "mx.example.org"));
        Assert.Equal((RecipientState.Deferred, OutcomeReason.TlsRequirement, EnhancedStatus.CryptographicFailure), (o.State, o.Reason, o.Enhanced));
        Assert.Contains($"Server certificate of mx.example.org[127.0.0.1] not verified for the MTA-STS policy of example.org (enforce, id {PolicyId}): certificate not trusted", o.Text);
        Assert.StartsWith("certificate-not-trusted: ", o.MtaStsFailure);
        Assert.True(o.RequiredByMtaSts);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task EnforceDefersACertificateOfATrustedCaForAnotherName()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: OtherNameCertificate.Value);
        var o = await DeliverAsyncTrusting(peer, Policy(MtaStsMode.Enforce, "mx.example.org"), OtherNameCertificate.Value.Ca!);
        Assert.Equal((RecipientState.Deferred, OutcomeReason.TlsRequirement), (o.State, o.Reason));
        Assert.Contains("certificate is not for mx.example.org (names: mail.elsewhere.test)", o.Text);
        Assert.StartsWith("certificate-host-mismatch: ", o.MtaStsFailure);
        Assert.Empty(peer.Arrivals.Ids);
    }

    private async Task<RemoteOutcome> DeliverAsyncTrusting(SmtpTestServer peer, IMtaStsPolicySource source, System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = peer.Endpoint.Port;
        var remote = new RemoteDelivery(new OneMxDns("mx.example.org"), options, new RecordingLogger<RemoteDelivery>(_log), mtaSts: source, trust: new PkixTrust([ca]));
        return await RemoteTestMessage.DeliverAsync(remote);
    }

    [Fact]
    public async Task EnforceDefersAHostWithoutStartTlsWith474NamingThePolicy()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Enforce, "mx.example.org"));
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported), (o.State, o.Enhanced));
        Assert.Contains($"TLS is required by the MTA-STS policy of example.org (enforce, id {PolicyId}), but was not offered by host mx.example.org[127.0.0.1]", o.Text);
        Assert.StartsWith("starttls-not-supported: ", o.MtaStsFailure);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task TestingDeliversAnywayAndRecordsWhatEnforceWouldHaveRefused()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed
        var before = Counted("testing", "certificate-not-trusted");
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Testing, "mx.example.org"));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Encrypted, o.Tls!.Verification);
        Assert.StartsWith("certificate-not-trusted: certificate of mx.example.org[127.0.0.1] not valid for the MTA-STS policy of example.org (testing, id 20261205)", o.MtaStsFailure);
        Assert.True(Counted("testing", "certificate-not-trusted") > before);
        Assert.Contains(_log, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("MTA-STS testing: example.org: would fail under enforce: certificate-not-trusted", StringComparison.Ordinal));
        Assert.Single(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task TestingDeliversToAnUnlistedMxWithoutTlsAndRecordsTheFirstFailure()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Testing, "mx.other.test"));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.Tls);
        Assert.StartsWith("validation-failure: mx.example.org is not listed in the MTA-STS policy of example.org (testing", o.MtaStsFailure);
    }

    [Fact]
    public async Task TestingWithAListedMxAndAValidCertificateRecordsNothing()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.Testing, "mx.example.org"));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Encrypted, o.Tls!.Verification); // testing authenticates nothing: delivered as without MTA-STS
        Assert.Null(o.MtaStsFailure);
    }

    [Fact]
    public async Task DaneTakesPrecedenceOverEnforceForAHostWithSecureTlsa()
    {
        // The certificate is self-signed (PKIX fails) and the host is not listed: DANE alone decides (RFC 8461 §2).
        await using var peer = await SmtpTestServer.StartAsync();
        var record = TlsaMatcher.DaneEeRecord(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(peer.DataDirectory, "tls", "cert.pem")));
        var p = record.Split(' ');
        var tlsa = () => TlsaResolution.FromAnswer("_25._tcp.mx.example.org",
            DnsAnswer<TlsaRecordData>.Found([new TlsaRecordData(byte.Parse(p[0]), byte.Parse(p[1]), byte.Parse(p[2]), Convert.FromHexString(p[3]))], DnsSecurity.Secure));
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org", DnsSecurity.Secure, tlsa), Policy(MtaStsMode.Enforce, "mx.other.test"));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Dane, o.Tls!.Verification);
        Assert.Null(o.MtaStsFailure);
    }

    [Fact]
    public async Task ADestinationEntryBelowDaneSwitchesMtaStsOffAndTheSourceIsNotAsked()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed: enforce would defer
        var source = Policy(MtaStsMode.Enforce, "mx.other.test");
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source, OutboundTlsLevel.May, useDane: false);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Encrypted, o.Tls!.Verification);
        Assert.Equal(0, source.Asked);
    }

    [Fact]
    public async Task APolicyThatCannotBeFetchedDeliversAsWithoutMtaStsAndSaysWhy()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var source = new FakePolicySource(_ => new MtaStsLookup(MtaStsLookupKind.Unavailable, Failure: "https://mta-sts.example.org/.well-known/mta-sts.txt: connection refused"));
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal("sts-policy-fetch-error: the MTA-STS policy of example.org could not be fetched (https://mta-sts.example.org/.well-known/mta-sts.txt: connection refused); delivering as without MTA-STS (RFC 8461 §5)", o.MtaStsFailure);
        Assert.Contains(_log, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("could not be fetched", StringComparison.Ordinal));
        Assert.Equal(1, source.Asked);
    }

    [Fact]
    public async Task ModeNoneIsNoPolicy()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), Policy(MtaStsMode.None));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.MtaStsFailure);
    }

    [Fact]
    public async Task ASourceThatThrowsDefersAndNothingIsSent()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var source = new FakePolicySource(_ => throw new InvalidOperationException("database is locked"));
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.LocalError, 451), (o.State, o.Enhanced, o.Code));
        Assert.Contains("the MTA-STS policy of example.org cannot be read: database is locked", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task APolicyUnavailableWhileTheCacheIsUnreadableDefersAndNothingIsSent()
    {
        // A cached enforce policy may exist that the lookup could not see: not "no policy".
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var source = new FakePolicySource(_ => new MtaStsLookup(MtaStsLookupKind.Unavailable, Failure: "connection refused") { CacheUnreadable = true });
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.LocalError), (o.State, o.Enhanced));
        Assert.Contains("the MTA-STS policy of example.org cannot be read: the MTA-STS policy cache cannot be read", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task AnInvalidPolicyIsRecordedWithItsOwnResultType()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var source = new FakePolicySource(_ => new MtaStsLookup(MtaStsLookupKind.Unavailable, Failure: "no mx field") { FailureType = TlsResultType.PolicyInvalid });
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.StartsWith("sts-policy-invalid: the MTA-STS policy of example.org could not be fetched (no mx field)", o.MtaStsFailure);
    }

    [Fact]
    public async Task TheResultTypeIsSaidOnceWhenTheSourcesReasonBeginsWithIt()
    {
        // The policy cache's reasons are "TYPE: DETAIL" (MtaStsFailure.ToString).
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var source = new FakePolicySource(_ => new MtaStsLookup(MtaStsLookupKind.Unavailable, Failure: "sts-policy-invalid: no mx field") { FailureType = TlsResultType.PolicyInvalid });
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), source);
        Assert.Equal("sts-policy-invalid: the MTA-STS policy of example.org could not be fetched (no mx field); delivering as without MTA-STS (RFC 8461 §5)", o.MtaStsFailure);
    }

    [Fact]
    public async Task LevelVerifyTrustsTheExtraAnchorsOfTrustAnchorsFile()
    {
        // SslStream's own verdict knows only the system's CAs: a private CA's certificate passes only through PkixTrust.
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns("mx.example.org"), null, OutboundTlsLevel.Verify);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Verified, o.Tls!.Verification);
    }
}
