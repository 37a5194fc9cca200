using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// Outbound TLS levels and DANE against a real SMTP peer in process (our own server, with and
/// without STARTTLS) and DNS answers given by the test. The Postfix test bed covers the same rows
/// end to end (tests/SecureMx.IntegrationTests).
/// </summary>
public sealed class RemoteDeliveryTlsPolicyTests
{
    private sealed class FixedDns(DnsSecurity mxSecurity, DnsSecurity addressSecurity, Func<TlsaResolution> tlsa) : IMailDnsResolver
    {
        public int TlsaQueries;

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx.example.org", 10)], mxSecurity, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], addressSecurity), DnsAnswer<IPAddress>.NoData(addressSecurity)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure)); // no MTA-STS

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default)
        {
            Interlocked.Increment(ref TlsaQueries);
            return Task.FromResult(tlsa());
        }
    }

    private static TlsaResolution NoTlsa() => TlsaResolution.FromAnswer("_25._tcp.mx.example.org", DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure));

    private static TlsaResolution TlsaOf(string record)
    {
        var p = record.Split(' ');
        return TlsaResolution.FromAnswer("_25._tcp.mx.example.org",
            DnsAnswer<TlsaRecordData>.Found([new TlsaRecordData(byte.Parse(p[0]), byte.Parse(p[1]), byte.Parse(p[2]), Convert.FromHexString(p[3]))], DnsSecurity.Secure));
    }

    private static string PeerTlsa(SmtpTestServer peer) =>
        TlsaMatcher.DaneEeRecord(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(peer.DataDirectory, "tls", "cert.pem")));

    private static async Task<IReadOnlyList<RemoteOutcome>> DeliverAsync(SmtpTestServer peer, IMailDnsResolver dns, OutboundTlsLevel level, SmtpConnectionCache? cache = null,
        bool useDane = true)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = peer.Endpoint.Port;
        options.Delivery.ConnectTimeoutSeconds = 10;
        var remote = new RemoteDelivery(dns, options, NullLogger.Instance, PkixTrust.SystemOnly, cache);
        var envelope = new Envelope(MessageId.New(TimeProvider.System), DateTimeOffset.UtcNow, "sender@sender.test", 40,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            new ClientTrace("mx", "192.0.2.1", "client.test", "ESMTP", null, null), []);
        var rcpt = new EnvelopeRecipient("alice@example.org", "alice@example.org", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var queued = new QueuedRecipient(envelope.Id, 0, rcpt, RecipientState.Queued, 0, DateTimeOffset.UtcNow, null);
        var body = "From: sender@sender.test\r\nSubject: t\r\n\r\nhello\r\n"u8.ToArray();
        return await remote.DeliverAsync(envelope, "example.org", [queued], () => new MemoryStream(body), TestContext.Current.CancellationToken, level, useDane);
    }

    [Fact]
    public async Task EncryptDefersAHostWithoutStartTlsWith474AndSaysSo()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, NoTlsa), OutboundTlsLevel.Encrypt)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported, OutcomeReason.TlsRequirement), (o.State, o.Enhanced, o.Reason));
        Assert.Contains("TLS is required, but was not offered by host mx.example.org[127.0.0.1]", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task MayDeliversToTheSameHostInPlaintext()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, NoTlsa), OutboundTlsLevel.Dane)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.Tls);
    }

    [Fact]
    public async Task EncryptDeliversOverStrictTlsWithoutCheckingTheCertificate()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Insecure, DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.Encrypt)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.True(o.Tls!.IsStrict, $"{o.Tls.Protocol} {o.Tls.CipherSuite}");
        Assert.Equal(TlsVerification.Encrypted, o.Tls.Verification);
    }

    [Fact]
    public async Task AMatchingTlsaRecordIsVerifiedAndLoggedAsDaneEvenAtLevelMay()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, () => TlsaOf(PeerTlsa(peer))), OutboundTlsLevel.May)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Dane, o.Tls!.Verification);
    }

    [Fact]
    public async Task ATlsaRecordOfAnotherKeyDefersWith475AndNeverFallsBackToPlaintext()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var wrong = TlsaMatcher.DaneEeRecord(TestCertificates.SelfSigned("mx.example.org").Leaf);
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, () => TlsaOf(wrong)), OutboundTlsLevel.May)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure, OutcomeReason.TlsRequirement), (o.State, o.Enhanced, o.Reason));
        Assert.Contains("not verified by DANE: no TLSA record matched", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task ATlsaLookupFailureDefersWithoutConnecting()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var failing = () => TlsaResolution.FromAnswer("_25._tcp.mx.example.org", DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"));
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, failing), OutboundTlsLevel.May)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure), (o.State, o.Enhanced));
        Assert.Contains("TLSA lookup error", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task WithoutDaneATlsaRecordOfAnotherKeyIsNotLookedUpAndTheMailGoesOutEncrypted()
    {
        // A destination entry of may: the operator's way around a destination whose TLSA records are wrong.
        await using var peer = await SmtpTestServer.StartAsync();
        var wrong = TlsaMatcher.DaneEeRecord(TestCertificates.SelfSigned("mx.example.org").Leaf);
        var dns = new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, () => TlsaOf(wrong));
        var o = (await DeliverAsync(peer, dns, OutboundTlsLevel.May, useDane: false)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Encrypted, o.Tls!.Verification);
        Assert.Equal(0, dns.TlsaQueries);
    }

    [Fact]
    public async Task WithoutDaneAMandatorySenderStillGetsStrictTlsAndATlsaLookupFailureDoesNotDefer()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var dns = new FixedDns(DnsSecurity.Secure, DnsSecurity.Secure, () => TlsaResolution.FromAnswer("_25._tcp.mx.example.org", DnsAnswer<TlsaRecordData>.Fail("SERVFAIL")));
        var o = (await DeliverAsync(peer, dns, OutboundTlsLevel.Encrypt, useDane: false)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.True(o.Tls!.IsStrict, $"{o.Tls.Protocol} {o.Tls.CipherSuite}");
        Assert.Equal(0, dns.TlsaQueries);
    }

    [Fact]
    public async Task TlsaOfAnInsecureMxRrsetIsNotEvenLookedUp()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var dns = new FixedDns(DnsSecurity.Insecure, DnsSecurity.Secure, () => throw new InvalidOperationException("must not be asked"));
        var o = (await DeliverAsync(peer, dns, OutboundTlsLevel.Dane)).Single();
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(0, dns.TlsaQueries);
    }

    [Fact]
    public async Task DaneOnlyDefersADomainWithoutDnssec()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Insecure, DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.DaneOnly)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure), (o.State, o.Enhanced));
        Assert.Contains("dane-only", o.Text);
    }

    [Fact]
    public async Task VerifyDefersASelfSignedCertificate()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = (await DeliverAsync(peer, new FixedDns(DnsSecurity.Insecure, DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.Verify)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure), (o.State, o.Enhanced));
        Assert.Contains("not verified", o.Text);
    }

    [Fact]
    public async Task AConnectionCachedFromAPlaintextDeliveryIsNotReusedForMandatoryTls()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromSeconds(30), TimeProvider.System);
        var dns = new FixedDns(DnsSecurity.Insecure, DnsSecurity.Insecure, NoTlsa);
        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, dns, OutboundTlsLevel.May, cache)).Single().State);
        var o = (await DeliverAsync(peer, dns, OutboundTlsLevel.Encrypt, cache)).Single();
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported), (o.State, o.Enhanced));
        Assert.Single(peer.Arrivals.Ids);
    }
}
