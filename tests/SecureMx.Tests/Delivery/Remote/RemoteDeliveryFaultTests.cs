using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Telemetry;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// Remote servers that misbehave (docs/ARCHITECTURE.md, "Hostile input"): a STARTTLS that breaks, a
/// peer that can do only TLS 1.0 with CBC, and silence at each stage of the transaction. What the
/// outcome says is what the queue, the DSN and the delivery log say.
/// </summary>
public sealed class RemoteDeliveryFaultTests
{
    /// <summary>One MX host on loopback, no DNSSEC: no TLSA, the level alone decides.</summary>
    private sealed class LoopbackDns : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx.example.org", 10)], DnsSecurity.Insecure, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure)); // no MTA-STS

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("no TLSA without DNSSEC");
    }

    private static async Task<RemoteOutcome> DeliverAsync(ScriptedSmtpPeer peer, OutboundTlsLevel level, int timeoutSeconds = 10, SmtpConnectionCache? cache = null)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = peer.Endpoint.Port;
        options.Delivery.ConnectTimeoutSeconds = timeoutSeconds;
        options.Delivery.TransactionTimeoutSeconds = timeoutSeconds;
        var remote = new RemoteDelivery(new LoopbackDns(), options, NullLogger.Instance, PkixTrust.SystemOnly, cache);
        return await RemoteTestMessage.DeliverAsync(remote, level);
    }

    // An RSA certificate: TLS 1.0 with RSA key exchange needs one.
    private static readonly Lazy<TestCertificate> RsaCertificate = new(() => TestCertificates.SelfSigned("mx.example.org", TestKeyType.Rsa2048));

    /// <summary>The weakest TLS a peer can still speak: TLS 1.0 only, AES-CBC with SHA-1 and RSA key exchange (OpenSSL security level 0).</summary>
    private static SslServerAuthenticationOptions Tls10Only()
    {
#pragma warning disable SYSLIB0039, SYSLIB0040, CA5397 // the old peer, on purpose
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = RsaCertificate.Value.Leaf,
            EnabledSslProtocols = SslProtocols.Tls,
            EncryptionPolicy = EncryptionPolicy.AllowNoEncryption,
            CipherSuitesPolicy = new CipherSuitesPolicy([TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA]),
        };
#pragma warning restore SYSLIB0039, SYSLIB0040, CA5397
    }

    [Fact]
    public async Task ABrokenStartTlsUnderMayIsRetriedInPlaintextAndTheOutcomeSaysWhyAndTheMetricCountsIt()
    {
        var failures = new List<(long Value, string? Reason, string? Then)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument == SecureMxMetrics.StartTlsFailures) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null, then = null;
            foreach (var t in tags)
            {
                if (t.Key == "reason") reason = t.Value as string;
                if (t.Key == "then") then = t.Value as string;
            }
            lock (failures) failures.Add((value, reason, then));
        });
        listener.Start();
        await using var peer = new ScriptedSmtpPeer(breakTls: true);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May);

        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.Tls);
        Assert.Matches("^(handshake failed|connection lost in the handshake): ", o.TlsFailure);
        Assert.Equal(2, peer.Connections); // the broken one, then a new plaintext one
        Assert.Null(Assert.Single(peer.Messages).Protocol);
        lock (failures) Assert.Contains(failures, f => f.Value == 1 && f.Reason is "handshake" or "connection" && f.Then == "plaintext");
    }

    [Fact]
    public async Task AFailedPlaintextReconnectAfterABrokenStartTlsStillSaysTheStartTlsFailed()
    {
        await using var peer = new ScriptedSmtpPeer(breakTls: true, acceptOnce: true);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May);

        Assert.Equal((RecipientState.Deferred, EnhancedStatus.NoAnswerFromHost, OutcomeReason.Connection), (o.State, o.Enhanced, o.Reason));
        Assert.Matches("^(handshake failed|connection lost in the handshake): ", o.TlsFailure);
        Assert.StartsWith($"mx.example.org[127.0.0.1] (in plaintext after starttls-failed: {o.TlsFailure}): ", o.Text, StringComparison.Ordinal);
        Assert.Equal(1, peer.Connections); // the broken one; the plaintext one was refused
        Assert.Empty(peer.Messages);
    }

    /// <summary>A peer whose only suites do not encrypt (NULL) or do not authenticate (anonymous ECDH), at OpenSSL security level 0.</summary>
    private static SslServerAuthenticationOptions NullAndAnonymousOnly()
    {
#pragma warning disable SYSLIB0040, CA5397 // the hostile peer, on purpose
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = RsaCertificate.Value.Leaf,
            EnabledSslProtocols = SslProtocols.Tls12,
            EncryptionPolicy = EncryptionPolicy.AllowNoEncryption,
            CipherSuitesPolicy = new CipherSuitesPolicy([TlsCipherSuite.TLS_RSA_WITH_NULL_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_NULL_SHA, TlsCipherSuite.TLS_ECDH_anon_WITH_NULL_SHA]),
        };
#pragma warning restore SYSLIB0040, CA5397
    }

    [Fact]
    public async Task APeerThatOffersOnlyNullSuitesGetsNoTlsSessionButAFailedStartTlsAndPlaintext()
    {
        // The peer is real: a client that allows NULL suites negotiates one with it.
        await using (var probe = new ScriptedSmtpPeer(tls: NullAndAnonymousOnly))
        {
            await using var c = await RawSmtpClient.ConnectAsync(probe.Endpoint);
            await c.ExpectAsync(220);
            await c.EhloAsync();
            await c.CommandAsync("STARTTLS", 220);
            await c.UpgradeToTlsAsync(SslProtocols.Tls12, [TlsCipherSuite.TLS_RSA_WITH_NULL_SHA256], legacy: true);
            Assert.Equal(TlsCipherSuite.TLS_RSA_WITH_NULL_SHA256, c.Tls!.NegotiatedCipherSuite);
        }
        await using var peer = new ScriptedSmtpPeer(tls: NullAndAnonymousOnly);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May);

        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.Tls); // never "tls=TLSv1.2 TLS_RSA_WITH_NULL_SHA256"
        Assert.StartsWith("handshake failed: ", o.TlsFailure, StringComparison.Ordinal);
        Assert.Equal(2, peer.Connections);
        Assert.Null(Assert.Single(peer.Messages).Protocol);
    }

    [Fact]
    public async Task AReusedPlaintextConnectionAfterABrokenStartTlsStillSaysWhyItIsPlaintext()
    {
        await using var peer = new ScriptedSmtpPeer(breakTls: true);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        var first = await DeliverAsync(peer, OutboundTlsLevel.May, cache: cache);
        var second = await DeliverAsync(peer, OutboundTlsLevel.May, cache: cache);

        Assert.Equal(2, peer.Connections); // the broken one, then one plaintext connection for both messages
        Assert.Equal(2, peer.Messages.Count);
        Assert.Equal((RecipientState.Delivered, RecipientState.Delivered), (first.State, second.State));
        Assert.NotNull(first.TlsFailure);
        Assert.Equal(first.TlsFailure, second.TlsFailure);
    }

    [Fact]
    public async Task ABrokenStartTlsUnderEncryptDefersAndNothingGoesInPlaintext()
    {
        await using var peer = new ScriptedSmtpPeer(breakTls: true);

        var o = await DeliverAsync(peer, OutboundTlsLevel.Encrypt);

        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure, OutcomeReason.TlsRequirement), (o.State, o.Enhanced, o.Reason));
        Assert.Null(o.TlsFailure);
        Assert.Empty(peer.Messages);
        Assert.Equal(1, peer.Connections);
    }

    [Fact]
    public async Task ATls10OnlyPeerGetsTheMailOverWeakTlsUnderMayNotInPlaintext()
    {
        await using var peer = new ScriptedSmtpPeer(tls: Tls10Only);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May);

        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.TlsFailure);
        Assert.Equal("TLSv1", o.Tls?.Protocol);
        Assert.StartsWith("TLS_RSA_WITH_AES_", o.Tls!.CipherSuite, StringComparison.Ordinal);
        Assert.Equal(TlsGrade.Weak, TlsGrading.Of(o.Tls.Protocol, o.Tls.CipherSuite));
        Assert.Equal(1, peer.Connections);
        Assert.Equal("Tls", Assert.Single(peer.Messages).Protocol);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.Encrypt)]
    [InlineData(OutboundTlsLevel.Verify)]
    public async Task ATls10OnlyPeerIsStillRefusedUnderMandatoryTls(OutboundTlsLevel level)
    {
        await using var peer = new ScriptedSmtpPeer(tls: Tls10Only);

        var o = await DeliverAsync(peer, level);

        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure, OutcomeReason.TlsRequirement), (o.State, o.Enhanced, o.Reason));
        Assert.Contains("TLS 1.2 or newer with secure ciphers (ECDHE, AES-GCM or ChaCha20-Poly1305) could not be negotiated", o.Text);
        Assert.Empty(peer.Messages);
    }

    [Theory]
    [InlineData(PeerStall.Greeting, "timed out waiting for the greeting")]
    [InlineData(PeerStall.Ehlo, "timed out after EHLO")]
    [InlineData(PeerStall.Mail, "timed out after MAIL FROM")]
    [InlineData(PeerStall.Rcpt, "timed out after RCPT TO")]
    [InlineData(PeerStall.Data, "timed out after DATA")]
    [InlineData(PeerStall.AfterFinalDot, "timed out after the final dot (the message may have been delivered)")]
    public async Task ATimeoutSaysAtWhichStageItHappened(PeerStall stall, string expected)
    {
        await using var peer = new ScriptedSmtpPeer(stall);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May, timeoutSeconds: 1);

        Assert.Equal((RecipientState.Deferred, EnhancedStatus.NoAnswerFromHost), (o.State, o.Enhanced));
        Assert.Equal($"mx.example.org[127.0.0.1]: {expected}", o.Text);
    }

    [Fact]
    public async Task ATlsHandshakeThatNeverEndsUnderMayIsAFailedStartTlsThatSaysItTimedOut()
    {
        await using var peer = new ScriptedSmtpPeer(PeerStall.TlsHandshake, tls: Tls10Only);

        var o = await DeliverAsync(peer, OutboundTlsLevel.May, timeoutSeconds: 1);

        Assert.Equal(RecipientState.Delivered, o.State);
        Assert.Null(o.Tls);
        Assert.Equal("timed out in the TLS handshake", o.TlsFailure);
    }
}
