using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// One "test internet" for the outbound tests: the DNSSEC test bed with extra mail domains, a
/// Postfix receiver per kind of peer, and a running SecureMx that resolves through the test bed.
/// Queue times are seconds-scale so that the delay warning and the expiry happen during the test.
/// The submission listeners are on, for authenticated mail that leaves through the same peers.
/// </summary>
public sealed class RemoteDeliveryFixture : IAsyncLifetime
{
    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;
    public PostfixPeer Receiver { get; private set; } = null!;   // deliver.test, twomx.test: STARTTLS
    public PostfixPeer Plain { get; private set; } = null!;      // plain.test: no STARTTLS
    private PostfixPeer _deferring = null!;                       // defer.test: 450 to every RCPT
    private PostfixPeer _rejecting = null!;                       // reject.test: 550 to every RCPT
    public DroppingSmtpPeer Dropping { get; private set; } = null!; // drop.test: hangs up in the middle of DATA
    public PostfixPeer Old { get; private set; } = null!;        // old.test: no 8BITMIME
    public PostfixPeer Weak { get; private set; } = null!;       // weak.test: TLS 1.0 with CBC-SHA1 and RSA key exchange only

    public async ValueTask InitializeAsync()
    {
        Dns = await DnsTestBed.StartAsync(["127.0.7", "127.0.8", "127.0.9"], records: net => $"""
            mx.deliver.test. A {net}.20
            deliver.test. MX 10 mx.deliver.test.
            mx.defer.test. A {net}.21
            defer.test. MX 10 mx.defer.test.
            mx.reject.test. A {net}.22
            reject.test. MX 10 mx.reject.test.
            mx.plain.test. A {net}.23
            plain.test. MX 10 mx.plain.test.
            mx1.twomx.test. A {net}.24
            mx2.twomx.test. A {net}.20
            twomx.test. MX 10 mx1.twomx.test.
            twomx.test. MX 20 mx2.twomx.test.
            mx.old.test. A {net}.27
            old.test. MX 10 mx.old.test.
            mx.weak.test. A {net}.26
            weak.test. MX 10 mx.weak.test.
            mx.drop.test. A {net}.25
            drop.test. MX 10 mx.drop.test.
            """);
        var net = Dns.Net;
        Receiver = await PostfixPeer.StartAsync($"{net}.20:25", "mailbox", tls: true, hostname: "mx.deliver.test", domains: "deliver.test,twomx.test");
        Plain = await PostfixPeer.StartAsync($"{net}.23:25", "mailbox", tls: false, hostname: "mx.plain.test", domains: "plain.test");
        _deferring = await PostfixPeer.StartAsync($"{net}.21:25", "mailbox", tls: true, hostname: "mx.defer.test", domains: "defer.test", rcptReply: "450 4.2.0 mailbox busy");
        Old = await PostfixPeer.StartAsync($"{net}.27:25", "mailbox", tls: true, hostname: "mx.old.test", domains: "old.test", extra: ["--no-8bitmime"]);
        Weak = await PostfixPeer.StartAsync($"{net}.26:25", "mailbox", hostname: "mx.weak.test", domains: "weak.test", tlsMode: "weak");
        Dropping = new DroppingSmtpPeer(System.Net.IPEndPoint.Parse($"{net}.25:25"));
        _rejecting = await PostfixPeer.StartAsync($"{net}.22:25", "mailbox", tls: true, hostname: "mx.reject.test", domains: "reject.test", rcptReply: "550 5.1.1 no such user");

        Mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], cfg =>
        {
            SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, $"{net}.2:53", expireAfter: "10s");
        }, submission: true);
        await Mx.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            await Mx.StopAsync();
            await Mx.DisposeAsync();
        }
        foreach (var peer in new[] { Receiver, Plain, Old, Weak, _deferring, _rejecting })
        {
            if (peer is not null) await peer.DisposeAsync();
        }
        if (Dropping is not null) await Dropping.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
    }
}
