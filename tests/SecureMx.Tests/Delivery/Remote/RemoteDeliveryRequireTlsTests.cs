using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Client;
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
/// REQUIRETLS outbound (RFC 8689 §4.2.1) and "TLS-Required: No" (§4.2.2) against a real SMTP peer in
/// process (our own server, which advertises REQUIRETLS inside TLS) with DNS answers given by the test.
/// The Postfix test bed (which does not advertise REQUIRETLS) covers the rest end to end.
/// </summary>
public sealed class RemoteDeliveryRequireTlsTests
{
    private sealed class FixedDns(DnsSecurity mxSecurity, Func<TlsaResolution> tlsa) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx.example.org", 10)], mxSecurity, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Secure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Secure)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure));

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => Task.FromResult(tlsa());
    }

    private static TlsaResolution NoTlsa() => TlsaResolution.FromAnswer("_25._tcp.mx.example.org", DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure));

    private static TlsaResolution TlsaOf(string record)
    {
        var p = record.Split(' ');
        return TlsaResolution.FromAnswer("_25._tcp.mx.example.org",
            DnsAnswer<TlsaRecordData>.Found([new TlsaRecordData(byte.Parse(p[0]), byte.Parse(p[1]), byte.Parse(p[2]), Convert.FromHexString(p[3]))], DnsSecurity.Secure));
    }

    private static Func<TlsaResolution> PeerTlsa(SmtpTestServer peer)
    {
        var record = TlsaMatcher.DaneEeRecord(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(peer.DataDirectory, "tls", "cert.pem")));
        return () => TlsaOf(record);
    }

    private static Func<TlsaResolution> WrongTlsa()
    {
        var record = TlsaMatcher.DaneEeRecord(TestCertificates.SelfSigned("mx.example.org").Leaf);
        return () => TlsaOf(record);
    }

    private static async Task<RemoteOutcome> DeliverAsync(int port, IMailDnsResolver dns, OutboundTlsLevel level, bool requireTls, string sender = "sender@sender.test",
        bool ignoreRecipientPolicies = false, int timeoutSeconds = 10)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = port;
        options.Delivery.ConnectTimeoutSeconds = timeoutSeconds;
        var remote = new RemoteDelivery(dns, options, NullLogger.Instance, PkixTrust.SystemOnly);
        var envelope = new Envelope(MessageId.New(TimeProvider.System), DateTimeOffset.UtcNow, sender, 40,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, requireTls),
            new ClientTrace("submission", "192.0.2.1", "client.test", "ESMTPSA", null, "sender@sender.test"), []);
        var rcpt = new EnvelopeRecipient("alice@example.org", "alice@example.org", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var queued = new QueuedRecipient(envelope.Id, 0, rcpt, RecipientState.Queued, 0, DateTimeOffset.UtcNow, null);
        var body = "From: sender@sender.test\r\nSubject: t\r\n\r\nhello\r\n"u8.ToArray();
        return (await remote.DeliverAsync(envelope, "example.org", [queued], () => new MemoryStream(body), TestContext.Current.CancellationToken, level,
            ignoreRecipientPolicies: ignoreRecipientPolicies)).Single();
    }

    private static bool StoredRequireTls(SmtpTestServer peer) => peer.Spool.Queue.Load(peer.Arrivals.Ids.Single())!.Value.Envelope.Parameters.RequireTls;

    [Fact]
    public async Task ADaneVerifiedServerThatAdvertisesRequireTlsGetsTheMessageWithTheFlag()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, PeerTlsa(peer)), OutboundTlsLevel.Dane, requireTls: true);
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Dane, o.Tls!.Verification);
        Assert.True(StoredRequireTls(peer));
    }

    [Fact]
    public async Task AServerWithoutStartTlsNeverGetsTheMessageWhichFailsWith5730()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, NoTlsa), OutboundTlsLevel.May, requireTls: true);
        Assert.Equal((RecipientState.Failed, EnhancedStatus.RequireTlsNeeded, 550), (o.State, o.Enhanced, o.Code));
        Assert.Contains("REQUIRETLS support required", o.Text);
        Assert.Contains("TLS is required, but was not offered by host mx.example.org[127.0.0.1]", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task AnUnauthenticatedCertificateIsNeverEnoughEvenWhereTheSameMessageWithoutRequireTlsWouldGo()
    {
        // No TLSA: the level is raised to verify, and the peer's self-signed certificate is not PKIX-valid.
        await using var peer = await SmtpTestServer.StartAsync();
        var dns = new FixedDns(DnsSecurity.Secure, NoTlsa);
        var tagged = await DeliverAsync(peer.Endpoint.Port, dns, OutboundTlsLevel.Encrypt, requireTls: true);
        Assert.Equal((RecipientState.Failed, EnhancedStatus.RequireTlsNeeded), (tagged.State, tagged.Enhanced));
        Assert.Contains("not verified", tagged.Text);
        Assert.Empty(peer.Arrivals.Ids);

        var untagged = await DeliverAsync(peer.Endpoint.Port, dns, OutboundTlsLevel.Encrypt, requireTls: false);
        Assert.Equal(RecipientState.Delivered, untagged.State);
    }

    [Fact]
    public async Task ATlsaMismatchFailsWith5730()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, WrongTlsa()), OutboundTlsLevel.Dane, requireTls: true);
        Assert.Equal((RecipientState.Failed, EnhancedStatus.RequireTlsNeeded), (o.State, o.Enhanced));
        Assert.Contains("not verified by DANE", o.Text);
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task AnInsecureMxLookupMeansNoDaneAndNoValidatedMxSoItFails()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Insecure, PeerTlsa(peer)), OutboundTlsLevel.Dane, requireTls: true);
        Assert.Equal((RecipientState.Failed, EnhancedStatus.RequireTlsNeeded), (o.State, o.Enhanced));
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task AHostThatIsDownDefersAsUsualInsteadOfFailing()
    {
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        int port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now: connection refused
        var o = await DeliverAsync(port, new FixedDns(DnsSecurity.Secure, NoTlsa), OutboundTlsLevel.Dane, requireTls: true);
        Assert.Equal((RecipientState.Deferred, OutcomeReason.Connection), (o.State, o.Reason));
    }

    public enum PassingStartTlsFault { Reply454, HandshakeTimeout, ResetDuringHandshake }

    [Theory]
    [InlineData(PassingStartTlsFault.Reply454)]
    [InlineData(PassingStartTlsFault.HandshakeTimeout)]
    [InlineData(PassingStartTlsFault.ResetDuringHandshake)]
    public async Task ATemporaryStartTlsProblemDefersARequireTlsMessageInsteadOfFailingIt(PassingStartTlsFault fault)
    {
        // Only a definite refusal is final (RFC 8689 §5: 5.7.30); a 4xx to STARTTLS, a timeout or a reset may pass by the next attempt.
        await using var peer = fault switch
        {
            PassingStartTlsFault.Reply454 => new ScriptedSmtpPeer(startTlsRefusal: "454 4.7.0 TLS not available due to temporary reason"),
            PassingStartTlsFault.HandshakeTimeout => new ScriptedSmtpPeer(PeerStall.TlsHandshake, tls: () => throw new InvalidOperationException("never reached")),
            _ => new ScriptedSmtpPeer(breakTls: true),
        };
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, NoTlsa), OutboundTlsLevel.Dane, requireTls: true, timeoutSeconds: 2);
        Assert.Equal((RecipientState.Deferred, 451), (o.State, o.Code));
        Assert.NotEqual(EnhancedStatus.RequireTlsNeeded, o.Enhanced);
        Assert.Empty(peer.Messages);
    }

    [Fact]
    public async Task ADsnAboutARequireTlsMessageCarriesTheFlagWithoutBeingHeldToTheRule()
    {
        // RFC 8689 §4.2.1 applies to a non-empty return path; §5: the flag must not make a bounce be discarded.
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.May, requireTls: true, sender: "");
        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Equal(TlsVerification.Encrypted, o.Tls!.Verification);
        Assert.True(StoredRequireTls(peer));
    }

    [Fact]
    public async Task ADsnAboutARequireTlsMessageNeverGoesInPlaintext()
    {
        // It carries the original's header (RFC 8689 §5): strict TLS or nothing, deferred like any mandatory-TLS mail.
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.May, requireTls: true, sender: "");
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported), (o.State, o.Enhanced));
        Assert.Empty(peer.Arrivals.Ids);

        var untagged = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Insecure, NoTlsa), OutboundTlsLevel.May, requireTls: false, sender: "");
        Assert.Equal(RecipientState.Delivered, untagged.State);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.None, OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.May, OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.Dane, OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.Encrypt, OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.DaneOnly, OutboundTlsLevel.DaneOnly)]
    [InlineData(OutboundTlsLevel.Verify, OutboundTlsLevel.Verify)]
    public void ADsnAboutARequireTlsMessageIsRaisedToMandatoryTlsAndNeverLowered(OutboundTlsLevel level, OutboundTlsLevel raised) =>
        Assert.Equal(raised, RequireTlsRule.RaiseForReport(level));

    [Fact]
    public async Task IgnoringRecipientPoliciesDeliversDespiteATlsaMismatchOverOpportunisticTls()
    {
        await using var peer = await SmtpTestServer.StartAsync();
        var dns = new FixedDns(DnsSecurity.Secure, WrongTlsa());
        var honoured = await DeliverAsync(peer.Endpoint.Port, dns, OutboundTlsLevel.Dane, requireTls: false, ignoreRecipientPolicies: true);
        Assert.Equal(RecipientState.Delivered, honoured.State);
        Assert.Equal(TlsVerification.Encrypted, honoured.Tls!.Verification);

        var notIgnored = await DeliverAsync(peer.Endpoint.Port, dns, OutboundTlsLevel.Dane, requireTls: false);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure), (notIgnored.State, notIgnored.Enhanced));
        Assert.Single(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task IgnoringRecipientPoliciesNeverAppliesToARequireTlsMessage()
    {
        // RFC 8689 §4.1: with REQUIRETLS the TLS-Required header field is ignored.
        await using var peer = await SmtpTestServer.StartAsync();
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, WrongTlsa()), OutboundTlsLevel.Dane, requireTls: true, ignoreRecipientPolicies: true);
        Assert.Equal((RecipientState.Failed, EnhancedStatus.RequireTlsNeeded), (o.State, o.Enhanced));
        Assert.Empty(peer.Arrivals.Ids);
    }

    [Fact]
    public async Task IgnoringRecipientPoliciesKeepsTheConfiguredLevel()
    {
        // A sender's mandatory level (encrypt) stays: a server without STARTTLS is still refused.
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var o = await DeliverAsync(peer.Endpoint.Port, new FixedDns(DnsSecurity.Secure, WrongTlsa()), OutboundTlsLevel.Encrypt, requireTls: false, ignoreRecipientPolicies: true);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported), (o.State, o.Enhanced));
        Assert.Empty(peer.Arrivals.Ids);
    }

    // ---- the rule alone ----

    private static ServerCapabilities Capabilities(bool requireTls) => ServerCapabilities.Helo with { Esmtp = true, RequireTls = requireTls };

    private static RequireTlsRule Rule(DnsSecurity mx) => RequireTlsRule.For(
        new Envelope("X", DateTimeOffset.UtcNow, "a@b.test", 1, new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, true),
            new ClientTrace("mx", "192.0.2.1", "c", "ESMTPS", null, null), []),
        MxResolution.FromRecords("b.test", [("mx.b.test", 10)], mx, new Random(1)))!;

    [Theory]
    [InlineData(TlsVerification.Dane, DnsSecurity.Secure, true, null)]
    [InlineData(TlsVerification.Verified, DnsSecurity.Secure, true, null)]
    [InlineData(TlsVerification.MtaSts, DnsSecurity.Insecure, true, null)]
    [InlineData(TlsVerification.Verified, DnsSecurity.Insecure, true, "MX lookup was not DNSSEC-secure")]
    [InlineData(TlsVerification.Encrypted, DnsSecurity.Secure, true, "not authenticated")]
    [InlineData(TlsVerification.Dane, DnsSecurity.Secure, false, "does not advertise REQUIRETLS")]
    public void AHostIsAcceptedOnlyWithAuthenticatedTlsAValidatedMxAndTheKeyword(TlsVerification verification, DnsSecurity mx, bool advertised, string? refusal)
    {
        var why = Rule(mx).Refusal(new NegotiatedTls("TLSv1.3", "TLS_AES_256_GCM_SHA384", verification), Capabilities(advertised));
        if (refusal is null) Assert.Null(why);
        else Assert.Contains(refusal, why);
    }

    [Fact]
    public void PlaintextIsRefusedAndTheLevelIsRaisedToAuthenticatedTls()
    {
        Assert.Contains("no TLS", Rule(DnsSecurity.Secure).Refusal(null, Capabilities(true)));
        Assert.Equal([OutboundTlsLevel.Verify, OutboundTlsLevel.Verify, OutboundTlsLevel.Verify, OutboundTlsLevel.Verify, OutboundTlsLevel.DaneOnly, OutboundTlsLevel.Verify],
            Enum.GetValues<OutboundTlsLevel>().Select(RequireTlsRule.Raise));
    }

    [Fact]
    public void OnlyMessagesWithRequireTlsAndASenderAreHeldToTheRule()
    {
        var mx = MxResolution.FromRecords("b.test", [("mx.b.test", 10)], DnsSecurity.Secure, new Random(1));
        Envelope E(string sender, bool flag) => new("X", DateTimeOffset.UtcNow, sender, 1, new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, flag),
            new ClientTrace("mx", "192.0.2.1", "c", "ESMTPS", null, null), []);
        Assert.NotNull(RequireTlsRule.For(E("a@b.test", true), mx));
        Assert.Null(RequireTlsRule.For(E("a@b.test", false), mx));
        Assert.Null(RequireTlsRule.For(E("", true), mx));
    }
}
