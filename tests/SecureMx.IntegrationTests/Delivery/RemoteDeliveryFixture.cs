using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// One "test internet" for the outbound tests: the DNSSEC test bed and a Postfix receiver per kind of
/// peer, and a running SecureMx that resolves through the test bed.
/// Queue times are seconds-scale so that the delay warning and the expiry happen during the test.
/// The submission listeners are on, for authenticated mail that leaves through the same peers.
/// </summary>
public sealed class RemoteDeliveryFixture : IAsyncLifetime
{
    /// <summary>A second hosted sender, for the test that switches its DSN language to German.</summary>
    public const string GermanSender = "greta@example.test";

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;
    public PostfixPeer Receiver { get; private set; } = null!;   // Deliver and TwoMx: STARTTLS
    public PostfixPeer Plain { get; private set; } = null!;      // Plain: no STARTTLS
    private PostfixPeer _deferring = null!;                       // Defer: 450 to every RCPT
    private PostfixPeer _rejecting = null!;                       // Reject: 550 to every RCPT
    public DroppingSmtpPeer Dropping { get; private set; } = null!; // Drop: hangs up in the middle of DATA
    public PostfixPeer Old { get; private set; } = null!;        // Old: no 8BITMIME
    public PostfixPeer Weak { get; private set; } = null!;       // Weak: TLS 1.0 with CBC-SHA1 and RSA key exchange only

    public async ValueTask InitializeAsync()
    {
        Dns = await DnsTestBed.StartAsync(["127.0.7", "127.0.8", "127.0.9"]);
        string Listen(TestBedZone zone) => $"{Dns.AddressOf(zone.Mx)}:25";
        // TwoMx's first MX host is unreachable, its second is the Deliver peer.
        Receiver = await PostfixPeer.StartAsync(Listen(TestBed.Deliver), "mailbox", tls: true, hostname: TestBed.Deliver.Mx, domains: $"{TestBed.Deliver.Name},{TestBed.TwoMx.Name}");
        Plain = await PostfixPeer.StartAsync(Listen(TestBed.Plain), "mailbox", tls: false, hostname: TestBed.Plain.Mx, domains: TestBed.Plain.Name);
        _deferring = await PostfixPeer.StartAsync(Listen(TestBed.Defer), "mailbox", tls: true, hostname: TestBed.Defer.Mx, domains: TestBed.Defer.Name, rcptReply: "450 4.2.0 mailbox busy");
        Old = await PostfixPeer.StartAsync(Listen(TestBed.Old), "mailbox", tls: true, hostname: TestBed.Old.Mx, domains: TestBed.Old.Name, extra: ["--no-8bitmime"]);
        Weak = await PostfixPeer.StartAsync(Listen(TestBed.Weak), "mailbox", hostname: TestBed.Weak.Mx, domains: TestBed.Weak.Name, tlsMode: "weak");
        Dropping = new DroppingSmtpPeer(System.Net.IPEndPoint.Parse(Listen(TestBed.Drop)), TestBed.Drop.Mx);
        _rejecting = await PostfixPeer.StartAsync(Listen(TestBed.Reject), "mailbox", tls: true, hostname: TestBed.Reject.Mx, domains: TestBed.Reject.Name, rcptReply: "550 5.1.1 no such user");

        Mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", GermanSender], cfg =>
        {
            SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, Dns.Resolver.ToString(), expireAfter: "10s");
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
