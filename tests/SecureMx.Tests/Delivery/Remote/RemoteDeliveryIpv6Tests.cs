using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// Outbound over both families: an MX host with only an AAAA record, and the source address per
/// family (delivery.sourceAddress, delivery.sourceAddress6) — a source of one family never keeps mail
/// from a host of the other.
/// </summary>
public sealed class RemoteDeliveryIpv6Tests
{
    /// <summary>One MX host whose A and AAAA records are the given addresses (no DNSSEC).</summary>
    private sealed class FixedDns(params IPAddress[] addresses) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [("mx.example.org", 10)], DnsSecurity.Insecure, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default)
        {
            DnsAnswer<IPAddress> Of(System.Net.Sockets.AddressFamily family)
            {
                var list = addresses.Where(a => a.AddressFamily == family).ToList();
                return list.Count > 0 ? DnsAnswer<IPAddress>.Found(list, DnsSecurity.Insecure) : DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure);
            }
            return Task.FromResult(AddressResolution.Combine(host, Of(System.Net.Sockets.AddressFamily.InterNetwork), Of(System.Net.Sockets.AddressFamily.InterNetworkV6)));
        }

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure)); // no MTA-STS

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("no TLSA without DNSSEC");
    }

    private static async Task<RemoteOutcome> DeliverAsync(ScriptedSmtpPeer peer, IMailDnsResolver dns, string source, string source6 = "")
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = peer.Endpoint.Port;
        options.Delivery.ConnectTimeoutSeconds = 10;
        options.Delivery.SourceAddress = source;
        options.Delivery.SourceAddress6 = source6;
        var remote = new RemoteDelivery(dns, options, NullLogger.Instance, PkixTrust.SystemOnly);
        return await RemoteTestMessage.DeliverAsync(remote, OutboundTlsLevel.May, clientIp: "2001:db8::7", clientHelo: "[IPv6:2001:db8::7]");
    }

    [Fact]
    public async Task AnAaaaOnlyMxHostGetsTheMailOverIpv6AlthoughTheSourceAddressIsIpv4()
    {
        await using var peer = new ScriptedSmtpPeer(listen: IPAddress.IPv6Loopback);
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.IPv6Loopback), source: "127.0.0.1");
        Assert.Equal(RecipientState.Delivered, outcome.State);
        Assert.Equal(IPAddress.IPv6Loopback, outcome.Address);
        Assert.Equal(IPAddress.IPv6Loopback, Assert.Single(peer.ClientAddresses));
        // The relayed copy's trace names the IPv6 client as an address literal (RFC 5321 §4.1.3).
        Assert.Contains("from [IPv6:2001:db8::7] ([IPv6:2001:db8::7])", Assert.Single(peer.Messages).Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADualStackHostIsNotTriedOverIpv6WhenOnlyAnIpv4SourceIsConfiguredAndIpv4DoesNotAnswer()
    {
        // Only [::1] answers, but the host has an A record too: mail must not leave from an IPv6 address the operator never
        // set up PTR and SPF for; it waits for the IPv4 address instead.
        await using var peer = new ScriptedSmtpPeer(listen: IPAddress.IPv6Loopback);
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.IPv6Loopback, IPAddress.Loopback), source: "127.0.0.1");
        Assert.Equal(RecipientState.Deferred, outcome.State);
        Assert.Equal(0, peer.Connections);
    }

    [Fact]
    public async Task AnIpv4ConnectionLeavesFromTheIpv4SourceWhenAnIpv6SourceIsConfiguredToo()
    {
        await using var peer = new ScriptedSmtpPeer();
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.Loopback), source: "127.0.0.2", source6: "::1");
        Assert.Equal(RecipientState.Delivered, outcome.State);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), Assert.Single(peer.ClientAddresses));
    }

    [Fact]
    public async Task AnIpv6SourceThatIsNotOnThisMachineCostsTheIpv6AttemptOnlyAndTheIpv4AddressTakesTheMail()
    {
        // 2001:db8::/32 is documentation space: binding it fails (EADDRNOTAVAIL), like a source address removed from the host.
        await using var peer = new ScriptedSmtpPeer();
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.IPv6Loopback, IPAddress.Loopback), source: "127.0.0.1", source6: "2001:db8::dead");
        Assert.Equal(RecipientState.Delivered, outcome.State);
        Assert.Equal(IPAddress.Loopback, outcome.Address);
    }

    [Fact]
    public async Task AnIpv6SourceThatIsNotOnThisMachineDefersMailForAnAaaaOnlyHostWithTheReason()
    {
        await using var peer = new ScriptedSmtpPeer(listen: IPAddress.IPv6Loopback);
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.IPv6Loopback), source: "", source6: "2001:db8::dead");
        Assert.Equal(RecipientState.Deferred, outcome.State);
        Assert.Equal(0, peer.Connections);
        Assert.Contains("mx.example.org[::1]", outcome.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostWhoseIpv6AddressDoesNotAnswerIsReachedOverIpv4()
    {
        // AAAA first (as resolved), nobody on [::1] at that port: the A address takes the mail.
        await using var peer = new ScriptedSmtpPeer();
        var outcome = await DeliverAsync(peer, new FixedDns(IPAddress.IPv6Loopback, IPAddress.Loopback), source: "");
        Assert.Equal(RecipientState.Delivered, outcome.State);
        Assert.Equal(IPAddress.Loopback, outcome.Address);
    }
}
