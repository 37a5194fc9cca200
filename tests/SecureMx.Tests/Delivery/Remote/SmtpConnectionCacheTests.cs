using System.Net;
using System.Net.Security;
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
/// Connection reuse (<see cref="SmtpConnectionCache"/> through <see cref="RemoteDelivery"/>): one connection
/// carries message after message to the same server, up to the reuse limit; a connection opened under one
/// TLS requirement never serves another; a reused connection that refuses RSET or MAIL with a 4xx gives way
/// to a new one, and the message goes on it instead of being deferred.
/// </summary>
public sealed class SmtpConnectionCacheTests
{
    /// <summary>One MX host on loopback (<see cref="MxHost"/>), no DNSSEC: no TLSA, the level alone decides. Counts the lookups.</summary>
    private sealed class LoopbackDns : IMailDnsResolver
    {
        public string MxHost { get; set; } = "mx.example.org";
        public int MxLookups;
        public int AddressLookups;

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default)
        {
            Interlocked.Increment(ref MxLookups);
            return Task.FromResult(MxResolution.FromRecords(domain, [(MxHost, 10)], DnsSecurity.Insecure, new Random(1)));
        }

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default)
        {
            Interlocked.Increment(ref AddressLookups);
            return Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure)));
        }

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure));

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("no TLSA without DNSSEC");
    }

    private static readonly Lazy<TestCertificate> Certificate = new(() => TestCertificates.SelfSigned("mx.example.org"));

    private static SslServerAuthenticationOptions Tls() => new() { ServerCertificate = Certificate.Value.Leaf };

    private static RemoteDelivery Remote(ScriptedSmtpPeer peer, SmtpConnectionCache cache, IMailDnsResolver dns)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = peer.Endpoint.Port;
        options.Delivery.ConnectTimeoutSeconds = 10;
        options.Delivery.TransactionTimeoutSeconds = 10;
        return new RemoteDelivery(dns, options, NullLogger.Instance, PkixTrust.SystemOnly, cache);
    }

    /// <summary>One message through a <see cref="RemoteDelivery"/> of its own (which remembers no route).</summary>
    private static Task<RemoteOutcome> DeliverAsync(ScriptedSmtpPeer peer, SmtpConnectionCache cache, OutboundTlsLevel level = OutboundTlsLevel.May) =>
        DeliverAsync(Remote(peer, cache, new LoopbackDns()), level);

    private static Task<RemoteOutcome> DeliverAsync(RemoteDelivery remote, OutboundTlsLevel level = OutboundTlsLevel.May) => RemoteTestMessage.DeliverAsync(remote, level);

    [Fact]
    public async Task OneConnectionCarriesEveryMessageToTheSameServer()
    {
        await using var peer = new ScriptedSmtpPeer();
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        for (int i = 0; i < 5; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache)).State);

        Assert.Equal(5, peer.Messages.Count);
        Assert.Equal(1, peer.Connections);
        Assert.Equal(1, cache.IdleCount);
    }

    [Fact]
    public async Task AConnectionIsClosedAfterTheReuseLimitAndTheNextMessageGetsANewOne()
    {
        await using var peer = new ScriptedSmtpPeer();
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System, reuseLimit: 2);

        for (int i = 0; i < 5; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache)).State);

        Assert.Equal(5, peer.Messages.Count);
        Assert.Equal(3, peer.Connections); // 2 + 2 + 1
    }

    [Fact]
    public async Task WithoutAnIdleTimeNoConnectionIsKept()
    {
        await using var peer = new ScriptedSmtpPeer();
        await using var cache = new SmtpConnectionCache(TimeSpan.Zero, TimeProvider.System);

        for (int i = 0; i < 2; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache)).State);

        Assert.Equal(2, peer.Connections);
        Assert.Equal(0, cache.IdleCount);
    }

    [Fact]
    public async Task AConnectionOpenedInPlaintextIsNotReusedForADeliveryThatRequiresTls()
    {
        await using var peer = new ScriptedSmtpPeer(tls: Tls);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache, OutboundTlsLevel.None)).State);
        var encrypted = await DeliverAsync(peer, cache, OutboundTlsLevel.Encrypt);

        Assert.Equal(RecipientState.Delivered, encrypted.State);
        Assert.NotNull(encrypted.Tls);
        Assert.Equal(2, peer.Connections);
        Assert.Equal([null, "Tls13"], peer.Messages.Select(m => m.Protocol));
    }

    [Fact]
    public async Task A4xxToMailOnAReusedConnectionSendsTheMessageOnANewConnectionInsteadOfDeferringIt()
    {
        await using var peer = new ScriptedSmtpPeer(messagesPerConnection: 2);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        for (int i = 0; i < 3; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache)).State);

        Assert.Equal(3, peer.Messages.Count);
        Assert.Equal(2, peer.Connections);
    }

    [Fact]
    public async Task A4xxToRsetOnAReusedConnectionOpensANewOne()
    {
        await using var peer = new ScriptedSmtpPeer(rsetReply: "421 4.3.2 shutting down");
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        for (int i = 0; i < 2; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(peer, cache)).State);

        Assert.Equal(2, peer.Messages.Count);
        Assert.Equal(2, peer.Connections);
    }

    [Fact]
    public async Task A4xxToMailOnANewConnectionIsNotTriedAgainAtOnce()
    {
        await using var peer = new ScriptedSmtpPeer(messagesPerConnection: -1);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);

        var o = await DeliverAsync(peer, cache);

        Assert.Equal(RecipientState.Deferred, o.State);
        Assert.Contains("too many messages", o.Text);
        Assert.Equal(1, peer.Connections);
    }

    [Fact]
    public async Task TheNextMessageToTheSameDestinationTakesTheIdleConnectionWithoutLookingUpTheHostAgain()
    {
        await using var peer = new ScriptedSmtpPeer();
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);
        var dns = new LoopbackDns();
        var remote = Remote(peer, cache, dns);

        for (int i = 0; i < 3; i++) Assert.Equal(RecipientState.Delivered, (await DeliverAsync(remote)).State);

        Assert.Equal((3, 1), (dns.MxLookups, dns.AddressLookups)); // the MX records every time, the host's address once
        Assert.Equal(1, peer.Connections);
    }

    [Fact]
    public async Task ARouteFoundUnderOneTlsLevelIsNotTakenUnderAnother()
    {
        await using var peer = new ScriptedSmtpPeer(tls: Tls);
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);
        var dns = new LoopbackDns();
        var remote = Remote(peer, cache, dns);

        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(remote, OutboundTlsLevel.None)).State);
        var encrypted = await DeliverAsync(remote, OutboundTlsLevel.Encrypt);

        Assert.NotNull(encrypted.Tls);
        Assert.Equal(2, dns.AddressLookups);
        Assert.Equal([null, "Tls13"], peer.Messages.Select(m => m.Protocol));
    }

    [Fact]
    public async Task ARouteWhoseHostIsNoLongerAnMxHostIsNotTaken()
    {
        await using var peer = new ScriptedSmtpPeer();
        await using var cache = new SmtpConnectionCache(TimeSpan.FromMinutes(1), TimeProvider.System);
        var dns = new LoopbackDns();
        var remote = Remote(peer, cache, dns);

        Assert.Equal(RecipientState.Delivered, (await DeliverAsync(remote)).State);
        dns.MxHost = "mx2.example.org";
        var o = await DeliverAsync(remote);

        Assert.Equal((RecipientState.Delivered, "mx2.example.org"), (o.State, o.MxHost));
        Assert.Equal(2, dns.AddressLookups);
    }
}
