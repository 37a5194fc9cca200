using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Spool;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// What remote delivery counts for TLS reporting (RFC 8460 §4.3, §4.4): one result per new session to
/// an MX host, under the policy it ran under (tlsa, sts, no-policy-found), with the result type the RFC
/// names; policy failures once per delivery attempt. Against a real SMTP peer in process and DNS answers
/// and MTA-STS policies given by the test.
/// </summary>
public sealed class RemoteDeliveryTlsReportingTests
{
    private static readonly Lazy<TestCertificate> MxCertificate = new(() => TestCertificates.IssuedByPrivateCa("mx.example.org"));
    private static readonly Lazy<TestCertificate> OtherNameCertificate = new(() => TestCertificates.IssuedByPrivateCa("mail.elsewhere.test"));
    private static readonly Lazy<TestCertificate> ExpiredCertificate = new(() => TestCertificates.IssuedByPrivateCa("mx.example.org",
        notBefore: DateTimeOffset.UtcNow.AddDays(-60), notAfter: DateTimeOffset.UtcNow.AddDays(-1)));

    private sealed class Recorder : ITlsSessionRecorder
    {
        public readonly ConcurrentQueue<TlsSessionResult> Results = new();

        public void Record(TlsSessionResult result) => Results.Enqueue(result);
    }

    private sealed class ThrowingRecorder : ITlsSessionRecorder
    {
        public void Record(TlsSessionResult result) => throw new InvalidOperationException("the store is gone");
    }

    private sealed class FixedPolicy(MtaStsLookup lookup) : IMtaStsPolicySource
    {
        public Task<MtaStsLookup> GetAsync(string domain, CancellationToken cancellationToken = default) => Task.FromResult(lookup);
    }

    private static FixedPolicy Sts(MtaStsMode mode, params string[] mx) =>
        new(new MtaStsLookup(MtaStsLookupKind.Policy, new MtaStsPolicy(mode, mx, TimeSpan.FromDays(7)), "20261205", DateTimeOffset.UtcNow.AddDays(7)));

    private static FixedPolicy Unavailable(TlsResultType type, string reason) =>
        new(new MtaStsLookup(MtaStsLookupKind.Unavailable, Failure: reason) { FailureType = type });

    /// <summary>One MX host "mx.example.org" on loopback; DNSSEC status and TLSA as the test says.</summary>
    private sealed class OneMxDns(DnsSecurity security = DnsSecurity.Insecure, Func<TlsaResolution>? tlsa = null) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx.example.org", 10)], security, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], security), DnsAnswer<IPAddress>.NoData(security)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, security));

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) =>
            Task.FromResult(tlsa?.Invoke() ?? TlsaResolution.FromAnswer($"_25._tcp.{host}", DnsAnswer<TlsaRecordData>.NoData(security)));
    }

    private static TlsaResolution TlsaOf(string record)
    {
        var p = record.Split(' ');
        return TlsaResolution.FromAnswer("_25._tcp.mx.example.org",
            DnsAnswer<TlsaRecordData>.Found([new TlsaRecordData(byte.Parse(p[0]), byte.Parse(p[1]), byte.Parse(p[2]), Convert.FromHexString(p[3]))], DnsSecurity.Secure));
    }

    private static string PeerTlsa(SmtpTestServer peer) =>
        TlsaMatcher.DaneEeRecord(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(peer.DataDirectory, "tls", "cert.pem")));

    private static Task<RemoteOutcome> DeliverAsync(SmtpTestServer peer, IMailDnsResolver dns, ITlsSessionRecorder recorder, IMtaStsPolicySource? sts = null,
        OutboundTlsLevel level = OutboundTlsLevel.May, bool useDane = true, SmtpConnectionCache? cache = null, X509Certificate2? ca = null, bool tlsReport = false) =>
        DeliverAsync(peer.Endpoint.Port, dns, recorder, sts, level, useDane, cache, ca, tlsReport);

    private static async Task<RemoteOutcome> DeliverAsync(int port, IMailDnsResolver dns, ITlsSessionRecorder recorder, IMtaStsPolicySource? sts = null,
        OutboundTlsLevel level = OutboundTlsLevel.May, bool useDane = true, SmtpConnectionCache? cache = null, X509Certificate2? ca = null, bool tlsReport = false)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = port;
        options.Delivery.ConnectTimeoutSeconds = 10;
        var trust = new PkixTrust([ca ?? MxCertificate.Value.Ca!]);
        var remote = new RemoteDelivery(dns, options, NullLogger.Instance, trust, cache, mtaSts: sts, tlsSessions: recorder);
        var envelope = new Envelope(MessageId.New(TimeProvider.System), DateTimeOffset.UtcNow, "sender@sender.test", 40,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            tlsReport ? new ClientTrace(ClientTrace.TlsReportListener, "127.0.0.1", "sender.test", "local", null, null) : new ClientTrace("mx", "192.0.2.1", "client.test", "ESMTP", null, null), []);
        var rcpt = new EnvelopeRecipient("alice@example.org", "alice@example.org", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var queued = new QueuedRecipient(envelope.Id, 0, rcpt, RecipientState.Queued, 0, DateTimeOffset.UtcNow, null);
        var body = "From: sender@sender.test\r\nSubject: t\r\n\r\nhello\r\n"u8.ToArray();
        return (await remote.DeliverAsync(envelope, "Example.ORG", [queued], () => new MemoryStream(body), TestContext.Current.CancellationToken, level, useDane)).Single();
    }

    private static void AssertSession(TlsSessionResult r, TlsReportPolicyType policy, TlsResultType? failure)
    {
        Assert.Equal((policy, failure), (r.PolicyType, r.Failure));
        Assert.Equal("example.org", r.PolicyDomain);
        Assert.Equal("mx.example.org", r.ReceivingMx);
        Assert.Equal("127.0.0.1", r.ReceivingIp);
        Assert.Equal("127.0.0.1", r.SendingIp);
        if (failure is null) Assert.Null(r.Detail);
        else Assert.False(string.IsNullOrWhiteSpace(r.Detail));
    }

    [Fact]
    public async Task ATlsSessionWithoutAnyPolicyIsASuccessUnderNoPolicyFound()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder)).State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.NoPolicyFound, null);
        Assert.Empty(r.PolicyStrings);
        Assert.Empty(r.MxPatterns);
    }

    [Fact]
    public async Task TheSessionThatCarriesOurOwnTlsReportIsNotCounted()
    {
        // RFC 8460 §5.3: the report's own SMTP session SHOULD NOT be in the next report.
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, tlsReport: true)).State);
        Assert.Empty(recorder.Results);
    }

    [Fact]
    public async Task APlaintextSessionWithoutAnyPolicyIsStartTlsNotSupported()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder)).State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.NoPolicyFound, TlsResultType.StartTlsNotSupported);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ABrokenHandshakeFollowedByPlaintextIsOneValidationFailure(bool reconnectRefused)
    {
        await using var peer = new ScriptedSmtpPeer(breakTls: true, acceptOnce: reconnectRefused);
        var recorder = new Recorder();
        var o = await DeliverAsync(peer.Endpoint.Port, new OneMxDns(), recorder);
        Assert.Equal(reconnectRefused ? RecipientState.Deferred : RecipientState.Delivered, o.State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.NoPolicyFound, TlsResultType.ValidationFailure);
        Assert.StartsWith("mx.example.org[127.0.0.1]: starttls-failed: ", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LevelNoneTriesNoStartTlsAndCountsNothing()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, level: OutboundTlsLevel.None)).State);
        Assert.Empty(recorder.Results);
    }

    [Fact]
    public async Task AnEnforcedSessionToAListedMxWithAValidCertificateIsAnStsSuccessWithThePolicyLines()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "*.example.org"))).State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.Sts, null);
        Assert.Equal(["version: STSv1", "mode: enforce", "mx: *.example.org", "max_age: 604800"], r.PolicyStrings);
        Assert.Equal(["*.example.org"], r.MxPatterns);
    }

    [Fact]
    public async Task AnUnlistedMxUnderEnforceIsAValidationFailureWithoutAConnection()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.other.test"))).State);
        var r = Assert.Single(recorder.Results);
        Assert.Equal((TlsReportPolicyType.Sts, TlsResultType.ValidationFailure, "mx.example.org"), (r.PolicyType, r.Failure, r.ReceivingMx));
        Assert.Null(r.ReceivingIp);
        Assert.Contains("mx.example.org is not listed in the MTA-STS policy of", r.Detail);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task AnUntrustedCertificateUnderEnforceIsCertificateNotTrusted()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.example.org"))).State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Sts, TlsResultType.CertificateNotTrusted);
    }

    [Fact]
    public async Task ACertificateForAnotherNameUnderEnforceIsCertificateHostMismatch()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: OtherNameCertificate.Value);
        var recorder = new Recorder();
        var o = await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.example.org"), ca: OtherNameCertificate.Value.Ca);
        Assert.Equal(RecipientState.Deferred, o.State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Sts, TlsResultType.CertificateHostMismatch);
    }

    [Fact]
    public async Task AnExpiredCertificateUnderEnforceIsCertificateExpired()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: ExpiredCertificate.Value);
        var recorder = new Recorder();
        var o = await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.example.org"), ca: ExpiredCertificate.Value.Ca);
        Assert.Equal(RecipientState.Deferred, o.State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Sts, TlsResultType.CertificateExpired);
    }

    [Fact]
    public async Task AHostWithoutStartTlsUnderEnforceIsStartTlsNotSupported()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.example.org"))).State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Sts, TlsResultType.StartTlsNotSupported);
    }

    [Fact]
    public async Task TestingCountsWhatEnforceWouldHaveRefusedWhileTheMailGoesOut()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Testing, "mx.example.org"))).State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.Sts, TlsResultType.CertificateNotTrusted);
        Assert.Contains("mode: testing", r.PolicyStrings);
    }

    [Fact]
    public async Task TestingWithAValidSessionIsAnStsSuccess()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Testing, "mx.example.org"))).State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Sts, null);
    }

    [Theory]
    [InlineData(TlsResultType.PolicyFetchError)]
    [InlineData(TlsResultType.PolicyInvalid)]
    [InlineData(TlsResultType.WebPkiInvalid)]
    public async Task APolicyThatCannotBeHadIsCountedOnceWithoutAHostAndTheSessionAsNoPolicyFound(TlsResultType type)
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, Unavailable(type, "connection refused"))).State);
        var results = recorder.Results.ToList();
        Assert.Equal(2, results.Count);
        var policy = results[0];
        Assert.Equal((TlsReportPolicyType.Sts, type, "example.org"), (policy.PolicyType, policy.Failure, policy.PolicyDomain));
        Assert.Null(policy.ReceivingMx);
        Assert.Null(policy.ReceivingIp);
        Assert.Contains("connection refused", policy.Detail);
        AssertSession(results[1], TlsReportPolicyType.NoPolicyFound, null);
    }

    [Fact]
    public async Task AMatchingTlsaRecordIsATlsaSuccessWithTheRecordAsPolicyString()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var record = PeerTlsa(peer);
        var recorder = new Recorder();
        // An MTA-STS policy that does not list the host: DANE takes precedence (RFC 8461 §2), the report says tlsa.
        var o = await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure, () => TlsaOf(record)), recorder, Sts(MtaStsMode.Enforce, "mx.other.test"));
        Assert.Equal(RecipientState.Delivered, o.State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.Tlsa, null);
        Assert.Equal([record.ToLowerInvariant()], r.PolicyStrings);
        Assert.Matches("^3 1 1 [0-9a-f]{64}$", r.PolicyStrings[0]);
        Assert.Empty(r.MxPatterns);
    }

    [Fact]
    public async Task ATlsaRecordOfAnotherKeyIsTlsaInvalid()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var wrong = TlsaMatcher.DaneEeRecord(TestCertificates.SelfSigned("mx.example.org").Leaf);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure, () => TlsaOf(wrong)), recorder)).State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.Tlsa, TlsResultType.TlsaInvalid);
        Assert.Contains("no TLSA record matched", r.Detail);
    }

    [Fact]
    public async Task ADaneHostWithoutStartTlsIsStartTlsNotSupportedUnderTlsa()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var record = TlsaMatcher.DaneEeRecord(TestCertificates.SelfSigned("mx.example.org").Leaf);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure, () => TlsaOf(record)), recorder)).State);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.Tlsa, TlsResultType.StartTlsNotSupported);
    }

    [Fact]
    public async Task AFailedTlsaLookupIsDnssecInvalidAndNothingConnects()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        var failing = () => TlsaResolution.FromAnswer("_25._tcp.mx.example.org", DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"));
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure, failing), recorder)).State);
        var r = Assert.Single(recorder.Results);
        Assert.Equal((TlsReportPolicyType.Tlsa, TlsResultType.DnssecInvalid, "mx.example.org"), (r.PolicyType, r.Failure, r.ReceivingMx));
        Assert.Null(r.ReceivingIp);
        Assert.Contains("SERVFAIL", r.Detail);
    }

    [Fact]
    public async Task DaneOnlyWithoutTlsaRecordsIsDaneRequired()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Deferred, (await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure), recorder, level: OutboundTlsLevel.DaneOnly)).State);
        var r = Assert.Single(recorder.Results);
        Assert.Equal((TlsReportPolicyType.Tlsa, TlsResultType.DaneRequired, "mx.example.org"), (r.PolicyType, r.Failure, r.ReceivingMx));
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task TlsaRecordsNoneOfWhichIsUsableAreTlsaInvalidThoughTheMailGoesOutEncrypted()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var recorder = new Recorder();
        // Usage 4 is not defined (RFC 6698 §7.2): unusable, so TLS without authentication (RFC 7672 §2.2).
        var unusable = () => TlsaOf("4 1 1 " + new string('a', 64));
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(DnsSecurity.Secure, unusable), recorder)).State);
        var r = Assert.Single(recorder.Results);
        AssertSession(r, TlsReportPolicyType.Tlsa, TlsResultType.TlsaInvalid);
        Assert.Equal(["4 1 1 " + new string('a', 64)], r.PolicyStrings);
    }

    [Fact]
    public async Task AReusedCachedConnectionIsNotANewSession()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        await using var cache = new SmtpConnectionCache(TimeSpan.FromSeconds(30), TimeProvider.System);
        var recorder = new Recorder();
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, cache: cache)).State);
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, new OneMxDns(), recorder, cache: cache)).State);
        Assert.Equal(2, peer.Arrivals.Ids.Count);
        AssertSession(Assert.Single(recorder.Results), TlsReportPolicyType.NoPolicyFound, null);
    }

    [Fact]
    public async Task RecipientPoliciesSwitchedOffByTheOperatorAreNotCounted()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed: enforce would have refused it
        var recorder = new Recorder();
        var o = await DeliverAsync(peer, new OneMxDns(), recorder, Sts(MtaStsMode.Enforce, "mx.example.org"), useDane: false);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Empty(recorder.Results);
    }

    [Fact]
    public async Task ARecorderThatThrowsNeverFailsTheDelivery()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer, new OneMxDns(), new ThrowingRecorder(), Unavailable(TlsResultType.PolicyFetchError, "timeout"));
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Single(peer.Arrivals.Ids);
    }
}
