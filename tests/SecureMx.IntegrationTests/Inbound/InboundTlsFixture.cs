using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// One SecureMx instance as a provider runs it, inside a DNSSEC test bed, with a DANE-checking Postfix
/// as the sending world. On NET = the first free prefix of <see cref="Nets"/>:
/// <list type="bullet">
/// <item>the test bed's knot and validating resolver (tests/peers/dns-testbed.sh);</item>
/// <item>the secure MX <see cref="TestBed.ProviderSecureMx"/> (strict TLS, STARTTLS required) and the ordinary
/// MX <see cref="TestBed.ProviderMx"/> (opportunistic TLS), at their addresses in the bed;</item>
/// <item>the Postfix dane-sender on the bed's <see cref="TestBed.Sender"/> address (smtp_tls_security_level = dane).</item>
/// </list>
/// Hosted: the bed's <see cref="TestBed.Secure"/> domain with inbound TLS mandatory (set before the server
/// starts), <c>open.test</c> opportunistic, <c>later.test</c> whose policy one test switches on and off. What
/// <c>securemx dns-records</c> prints for the secure domain (MX and TLSA) is published in its zone: the same
/// records a customer and the provider would publish.
/// </summary>
public sealed class InboundTlsFixture : IAsyncLifetime
{
    public static string SecureDomain => TestBed.Secure.Name;
    public const string OpenDomain = "open.test";
    public const string LaterDomain = "later.test";
    public static string Hostname => TestBed.ProviderMx;
    public static string SecureMxHostname => TestBed.ProviderSecureMx;
    public const string SenderHostname = "sender.test";

    /// <summary>The /24 prefixes this fixture may use (the first whose addresses are free).</summary>
    public static readonly string[] Nets = ["127.0.13", "127.0.15", "127.0.17"];

    public string Net { get; private set; } = "";
    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;
    public PostfixPeer Sender { get; private set; } = null!;

    /// <summary>An address of the bed on <see cref="Net"/> (known before the bed starts).</summary>
    private IPAddress At(TestBedAddress address) => address.On(Net, DnsTestBed.DefaultMxBase);

    /// <summary>The secure MX listener.</summary>
    public IPEndPoint SecureMx => new(At(TestBed.Definition.AddressOf(SecureMxHostname)), 25);

    /// <summary>The ordinary MX listener.</summary>
    public IPEndPoint OrdinaryMx => new(At(TestBed.Definition.AddressOf(Hostname)), 25);

    /// <summary>The address the dane-sender sends from.</summary>
    public IPAddress SenderAddress => At(TestBed.Sender);

    /// <summary>The test bed's validating resolver.</summary>
    private IPAddress Resolver => At(TestBed.Resolver);

    /// <summary>Everything <c>securemx dns-records</c> printed for the secure domain.</summary>
    public string DnsRecordsOutput { get; private set; } = "";

    /// <summary>The MX line of that output (for the secure domain), as published in the test zone.</summary>
    public string PublishedMx { get; private set; } = "";

    /// <summary>The TLSA line of that output (for port 25 of the secure MX host), as published in the test zone.</summary>
    public string PublishedTlsa { get; private set; } = "";

    /// <summary>Wall-clock time of <see cref="InitializeAsync"/>.</summary>
    public TimeSpan StartTime { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        Assert.True(Run.Exists("swaks"), "swaks is not installed: run scripts/install-test-deps.sh");
        Assert.True(Run.Exists("openssl"), "openssl is not installed: run scripts/install-test-deps.sh");
        Net = PickFreeNet();
        // Postfix's start (2-3 s of checks) overlaps with the instance's set-up; it needs the resolver only when it sends.
        var sender = PostfixPeer.StartDaneSenderAsync($"{SenderAddress}:25", Resolver, SenderHostname);
        Task<DnsTestBed>? bed = null;
        try
        {
            Mx = await SecureMxInstance.CreateAsync(SecureDomain, ["user@" + SecureDomain],
                cfg =>
                {
                    cfg["dns"] = $"{Resolver}:53";
                    cfg["inboundAuthentication"] = new System.Text.Json.Nodes.JsonObject { ["enabled"] = true };
                },
                hostname: Hostname, mx: OrdinaryMx, secureMx: SecureMx, secureMxHostname: SecureMxHostname);
            foreach (var domain in new[] { OpenDomain, LaterDomain })
            {
                await Mx.CliOk("domain", "add", domain);
                var r = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "user@" + domain, "--password-stdin", "--data", Mx.DataDir);
                Assert.True(r.ExitCode == 0, r.All);
            }
            await Mx.CliOk("policy", "inbound", SecureDomain, "mandatory");

            var records = await Mx.Cli("dns-records", SecureDomain);
            Assert.True(records.ExitCode == 0, "securemx dns-records failed: " + records.All);
            DnsRecordsOutput = records.StdOut;
            var lines = records.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith(';')).ToArray();
            PublishedMx = lines.FirstOrDefault(l => l.StartsWith(SecureDomain + ".", StringComparison.Ordinal) && l.Contains("\tMX\t", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"no MX line for {SecureDomain} in the output of dns-records:\n" + records.StdOut);
            PublishedTlsa = lines.FirstOrDefault(l => l.Contains("\tTLSA\t", StringComparison.Ordinal))
                ?? throw new InvalidOperationException("no TLSA line in the output of dns-records:\n" + records.StdOut);
            // the secure MX's address is in the zone definition already
            bed = DnsTestBed.StartAsync([Net], records: [PublishedMx, PublishedTlsa, .. AuthenticationRecords()]);
            var serve = Mx.StartAsync();
            await Task.WhenAll(bed, serve, sender);
            Dns = bed.Result;
            Sender = sender.Result;
        }
        catch
        {
            // what did start must not outlive a failed start
            try { Sender = await sender; } catch (Exception) { }
            if (bed is not null) try { Dns = await bed; } catch (Exception) { }
            await DisposeAsync();
            throw;
        }
        StartTime = sw.Elapsed;
    }

    /// <summary>A sending domain whose SPF ends in ~all and that has no DMARC record.</summary>
    public const string SoftFailDomain = "softfail.test";

    /// <summary>A sending domain that allows no host and asks for p=reject: whoever sends as it fails DMARC.</summary>
    public const string ForgedDomain = "forged.test";

    /// <summary>The DKIM selector of <see cref="SignerDomain"/>, whose Ed25519 key <see cref="SignerKey"/> signs with.</summary>
    public const string SignerSelector = "ed1";

    /// <summary>A sending domain whose mail is signed by an independent signer (dkimpy) and whose SPF allows no host.</summary>
    public const string SignerDomain = "signer.test";

    /// <summary>The Ed25519 key pair of <see cref="SignerDomain"/>, made for this run.</summary>
    public Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair SignerKey { get; } = NewEd25519Key();

    private static Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair NewEd25519Key()
    {
        var g = new Org.BouncyCastle.Crypto.Generators.Ed25519KeyPairGenerator();
        g.Init(new Org.BouncyCastle.Crypto.Parameters.Ed25519KeyGenerationParameters(new Org.BouncyCastle.Security.SecureRandom()));
        return g.GenerateKeyPair();
    }

    /// <summary>
    /// SPF, DMARC and DKIM records the authentication tests need: the dane-sender's domain allows its address
    /// and asks for p=reject; the signer's domain allows no host, asks for p=reject and publishes its key.
    /// </summary>
    private IEnumerable<string> AuthenticationRecords()
    {
        var publicKey = Convert.ToBase64String(((Org.BouncyCastle.Crypto.Parameters.Ed25519PublicKeyParameters)SignerKey.Public).GetEncoded());
        return
        [
            $"{SenderHostname}. TXT \"v=spf1 ip4:{SenderAddress} -all\"",
            $"_dmarc.{SenderHostname}. TXT \"v=DMARC1; p=reject\"",
            $"{SignerDomain}. TXT \"v=spf1 -all\"",
            $"_dmarc.{SignerDomain}. TXT \"v=DMARC1; p=reject\"",
            $"{SignerSelector}._domainkey.{SignerDomain}. TXT \"v=DKIM1; k=ed25519; p={publicKey}\"",
            $"{SoftFailDomain}. TXT \"v=spf1 ~all\"",
            $"{ForgedDomain}. TXT \"v=spf1 -all\"",
            $"_dmarc.{ForgedDomain}. TXT \"v=DMARC1; p=reject\"",
        ];
    }

    /// <summary>The first of <see cref="Nets"/> whose test bed, sender and listener addresses are all free.</summary>
    private static string PickFreeNet()
    {
        foreach (var net in Nets)
        {
            IPAddress At(TestBedAddress address) => address.On(net, DnsTestBed.DefaultMxBase);
            if (Free(At(TestBed.Authoritative), 53, SocketType.Dgram) && Free(At(TestBed.Resolver), 53, SocketType.Dgram)
                && Free(At(TestBed.Sender), 25, SocketType.Stream)
                && Free(At(TestBed.Definition.AddressOf(SecureMxHostname)), 25, SocketType.Stream)
                && Free(At(TestBed.Definition.AddressOf(Hostname)), 25, SocketType.Stream))
                return net;
        }
        Assert.Fail($"no free test network among {string.Join(", ", Nets)} (DNS, the sender and both MX listeners all taken by other tests?)");
        return "";
    }

    private static bool Free(IPAddress address, int port, SocketType type)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Dgram ? ProtocolType.Udp : ProtocolType.Tcp);
        try
        {
            s.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Sender is not null) await Sender.DisposeAsync();
        if (Mx is not null)
        {
            try { await Mx.StopAsync(); } catch (Exception) { }
            await Mx.DisposeAsync();
        }
        if (Dns is not null) await Dns.DisposeAsync();
    }
}
