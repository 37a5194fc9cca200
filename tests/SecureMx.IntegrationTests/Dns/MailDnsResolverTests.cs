using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecureMx.Dns;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Dns;

/// <summary>
/// <see cref="MailDnsResolver"/> against the real test bed (knot + unbound, tests/peers/dns-testbed.sh):
/// one test per zone, plus timeouts and an unreachable resolver.
/// </summary>
public sealed class MailDnsResolverTests(DnsTestBedFixture fixture, ITestOutputHelper output) : IClassFixture<DnsTestBedFixture>
{
    private DnsTestBed Bed => fixture.Bed;

    private MailDnsResolver Resolver(Random? random = null) => new(Bed.Resolver, TimeSpan.FromSeconds(3), random);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Fact]
    public async Task MxOk_hosts_in_preference_order_secure_with_addresses()
    {
        output.WriteLine($"test bed started in {fixture.StartTime.TotalSeconds:0.00} s on {Bed.Net}");
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.MxOk.Name, Ct);
        Assert.Equal(MxResolutionKind.Hosts, mx.Kind);
        Assert.Equal([new MxHost(TestBed.MxOk.MxHosts[0].Host, 10), new MxHost(TestBed.MxOk.MxHosts[1].Host, 20)], mx.Hosts);
        Assert.Equal(mx.Hosts, mx.Targets);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        Assert.Null(mx.Failure);

        var a1 = await dns.ResolveAddressesAsync(TestBed.MxOk.MxHosts[0].Host, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.MxOk.MxHosts[0].Host)], a1.IPv4);
        Assert.Empty(a1.IPv6);
        Assert.Equal(DnsSecurity.Secure, a1.Security);
        Assert.Null(a1.Failure);
        var a2 = await dns.ResolveAddressesAsync(TestBed.MxOk.MxHosts[1].Host, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.MxOk.MxHosts[1].Host)], a2.Addresses);
        Assert.Equal(DnsSecurity.Secure, a2.Security);

        // no TLSA at a signed host: securely none (NXDOMAIN with AD=1)
        var tlsa = await dns.ResolveTlsaAsync(TestBed.MxOk.MxHosts[0].Host, 25, Ct);
        Assert.Equal(TlsaResolutionKind.SecureNone, tlsa.Kind);
        Assert.Empty(tlsa.Records);
        Assert.Null(tlsa.Failure);
    }

    [Fact]
    public async Task Cname_in_the_answer_yields_only_the_records_of_the_requested_type()
    {
        var dns = Resolver();
        var a = await dns.ResolveAddressesAsync(TestBed.MxOk.Single("CNAME").Owner, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.MxOk.MxHosts[0].Host)], a.Addresses);
        Assert.Equal(DnsSecurity.Secure, a.Security);
        var mx = await dns.ResolveMxAsync(TestBed.MxOk.Single("CNAME").Owner, Ct);   // CNAME to a host without MX: NODATA -> implicit
        Assert.Equal(MxResolutionKind.Implicit, mx.Kind);
    }

    [Fact]
    public async Task Equal_preferences_come_in_both_orders_and_reproducibly_with_a_seed()
    {
        var seen = new HashSet<string>();
        var dns = Resolver(new Random(42));
        for (int i = 0; i < 16; i++)
        {
            var mx = await dns.ResolveMxAsync(TestBed.Equal.Name, Ct);
            Assert.Equal(MxResolutionKind.Hosts, mx.Kind);
            Assert.Equal(DnsSecurity.Secure, mx.Security);
            Assert.All(mx.Hosts, h => Assert.Equal(10, h.Preference));
            Assert.Equal([TestBed.Equal.MxHosts[0].Host, TestBed.Equal.MxHosts[1].Host], mx.Hosts.Select(h => h.Name).Order());
            seen.Add(string.Join(",", mx.Hosts.Select(h => h.Name)));
        }
        Assert.Equal(2, seen.Count);

        // the same seed gives the same sequence of orders
        var x = Resolver(new Random(7));
        var y = Resolver(new Random(7));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((await x.ResolveMxAsync(TestBed.Equal.Name, Ct)).Hosts, (await y.ResolveMxAsync(TestBed.Equal.Name, Ct)).Hosts);
        }
        Assert.Equal([Bed.AddressOf(TestBed.Equal.MxHosts[0].Host)], (await x.ResolveAddressesAsync(TestBed.Equal.MxHosts[0].Host, Ct)).Addresses);
        Assert.Equal([Bed.AddressOf(TestBed.Equal.MxHosts[1].Host)], (await x.ResolveAddressesAsync(TestBed.Equal.MxHosts[1].Host, Ct)).Addresses);
    }

    [Fact]
    public async Task Implicit_mx_is_the_domain_itself_with_ipv4_and_ipv6()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.Implicit.Name, Ct);
        Assert.Equal(MxResolutionKind.Implicit, mx.Kind);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        Assert.Empty(mx.Hosts);
        Assert.Equal([new MxHost(TestBed.Implicit.Name, 0)], mx.Targets);
        Assert.Null(mx.Failure);

        var a = await dns.ResolveAddressesAsync(TestBed.Implicit.Name, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.Implicit.Name)], a.IPv4);
        Assert.Equal([IPAddress.IPv6Loopback], a.IPv6);
        Assert.Equal([IPAddress.IPv6Loopback, Bed.AddressOf(TestBed.Implicit.Name)], a.Addresses);
        Assert.Equal(DnsSecurity.Secure, a.Security);
    }

    [Fact]
    public async Task Null_mx_bounces_with_5_1_10()
    {
        var mx = await Resolver().ResolveMxAsync(TestBed.NullMx.Name, Ct);
        Assert.Equal(MxResolutionKind.NullMx, mx.Kind);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        Assert.Empty(mx.Targets);
        Assert.NotNull(mx.Failure);
        Assert.True(mx.Failure.Permanent);
        Assert.Equal($"5.1.10 {TestBed.NullMx.Name} does not accept mail (null MX, RFC 7505)", mx.Failure.ToString());
        Assert.Equal(556, mx.Failure.Code);
    }

    [Fact]
    public async Task Nodata_domain_is_implicit_without_addresses_and_bounces_with_5_1_2()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.NoData.Name, Ct);
        Assert.Equal(MxResolutionKind.Implicit, mx.Kind);
        Assert.Equal(DnsSecurity.Secure, mx.Security);

        var a = await dns.ResolveAddressesAsync(TestBed.NoData.Name, Ct);
        Assert.False(a.HasAddresses);
        Assert.False(a.IsTemporaryFailure);
        Assert.False(a.HostDoesNotExist);
        Assert.Equal(DnsSecurity.Secure, a.Security);
        Assert.Equal($"5.4.4 mail host {TestBed.NoData.Name} has no address (A/AAAA) record", a.Failure!.ToString());
        var bounce = mx.NoAddressFailure();
        Assert.True(bounce.Permanent);
        Assert.StartsWith($"5.1.2 domain {TestBed.NoData.Name} has no MX and no address", bounce.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bogus_signatures_are_servfail_and_defer()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.Servfail.Name, Ct);
        Assert.Equal(MxResolutionKind.TemporaryFailure, mx.Kind);
        Assert.Equal("SERVFAIL", mx.Reason);
        Assert.Equal($"4.4.3 DNS lookup of MX for {TestBed.Servfail.Name} failed: SERVFAIL", mx.Failure!.ToString());
        Assert.False(mx.Failure.Permanent);

        var a = await dns.ResolveAddressesAsync(TestBed.Servfail.Mx, Ct);
        Assert.True(a.IsTemporaryFailure);
        Assert.False(a.HasAddresses);
        Assert.Equal($"4.4.3 DNS lookup of A/AAAA for {TestBed.Servfail.Mx} failed: A: SERVFAIL; AAAA: SERVFAIL", a.Failure!.ToString());

        var tlsa = await dns.ResolveTlsaAsync(TestBed.Servfail.Mx, 25, Ct);
        Assert.Equal(TlsaResolutionKind.TemporaryFailure, tlsa.Kind);
        Assert.Equal($"4.7.5 TLSA lookup error for _25._tcp.{TestBed.Servfail.Mx}: SERVFAIL", tlsa.Failure!.ToString());
    }

    [Fact]
    public async Task Unsigned_domain_is_insecure_and_its_tlsa_is_not_usable()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.Unsigned.Name, Ct);
        Assert.Equal(MxResolutionKind.Hosts, mx.Kind);
        Assert.Equal([new MxHost(TestBed.Unsigned.Mx, 10)], mx.Hosts);
        Assert.Equal(DnsSecurity.Insecure, mx.Security);

        var a = await dns.ResolveAddressesAsync(TestBed.Unsigned.Mx, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.Unsigned.Mx)], a.Addresses);
        Assert.Equal(DnsSecurity.Insecure, a.Security);

        var tlsa = await dns.ResolveTlsaAsync(TestBed.Unsigned.Mx, 25, Ct);
        Assert.Equal(TlsaResolutionKind.Insecure, tlsa.Kind);
        Assert.Empty(tlsa.Records);   // present in DNS, but never handed out without AD
        Assert.Null(tlsa.Failure);
    }

    [Fact]
    public async Task Dane_ok_has_secure_tlsa()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.DaneOk.Name, Ct);
        Assert.Equal([new MxHost(TestBed.DaneOk.Mx, 10)], mx.Hosts);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        var a = await dns.ResolveAddressesAsync(TestBed.DaneOk.Mx, Ct);
        Assert.Equal([Bed.AddressOf(TestBed.DaneOk.Mx)], a.Addresses);
        Assert.Equal(DnsSecurity.Secure, a.Security);

        var tlsa = await dns.ResolveTlsaAsync(TestBed.DaneOk.Mx, 25, Ct);
        Assert.Equal(TlsaResolutionKind.Secure, tlsa.Kind);
        Assert.Equal(TestBed.DaneOk.Tlsa.Owner, tlsa.Name);
        var record = Assert.Single(tlsa.Records);
        Assert.Equal(3, record.Usage);
        Assert.Equal(1, record.Selector);
        Assert.Equal(1, record.MatchingType);
        Assert.Equal(32, record.Data.Length);
        Assert.Equal(TestBed.DaneOk.Tlsa.Data, record.ToString());

        // another port of the same host: securely no TLSA
        Assert.Equal(TlsaResolutionKind.SecureNone, (await dns.ResolveTlsaAsync(TestBed.DaneOk.Mx, 465, Ct)).Kind);
    }

    [Fact]
    public async Task Nxdomain_bounces_with_5_1_2()
    {
        var dns = Resolver();
        var mx = await dns.ResolveMxAsync(TestBed.Nx, Ct);
        Assert.Equal(MxResolutionKind.NoSuchDomain, mx.Kind);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        Assert.Equal($"5.1.2 domain {TestBed.Nx} does not exist", mx.Failure!.ToString());
        Assert.True(mx.Failure.Permanent);

        var a = await dns.ResolveAddressesAsync("mx." + TestBed.Nx, Ct);
        Assert.True(a.HostDoesNotExist);
        Assert.False(a.IsTemporaryFailure);
        Assert.Equal($"5.4.4 mail host {"mx." + TestBed.Nx} does not exist (NXDOMAIN)", a.Failure!.ToString());

        Assert.Equal(TlsaResolutionKind.SecureNone, (await dns.ResolveTlsaAsync("mx." + TestBed.Nx, 25, Ct)).Kind);
        // names outside the fake internet are answered locally too (validated NXDOMAIN): nothing leaks out
        Assert.Equal(MxResolutionKind.NoSuchDomain, (await dns.ResolveMxAsync("example.com", Ct)).Kind);
    }

    [Fact]
    public async Task Silent_resolver_times_out_as_a_temporary_failure()
    {
        // A UDP socket that reads queries and never answers: a real timeout (nothing else of the bed is there).
        var silent = new IPEndPoint(Bed.Address(TestBed.Silent), 53);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(silent);
        var dns = new MailDnsResolver(silent, TimeSpan.FromSeconds(1));
        var sw = Stopwatch.StartNew();
        var mx = await dns.ResolveMxAsync(TestBed.MxOk.Name, Ct);
        var mxTime = sw.Elapsed;
        Assert.Equal(MxResolutionKind.TemporaryFailure, mx.Kind);
        Assert.Contains("timeout", mx.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"4.4.3 DNS lookup of MX for {TestBed.MxOk.Name} failed: timeout", mx.Failure!.ToString(), StringComparison.Ordinal);
        Assert.InRange(mxTime, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5));   // 2 tries of 1 s

        sw.Restart();
        var a = await dns.ResolveAddressesAsync(TestBed.MxOk.MxHosts[0].Host, Ct);
        Assert.True(a.IsTemporaryFailure);
        var tlsa = await dns.ResolveTlsaAsync(TestBed.DaneOk.Mx, 25, Ct);
        Assert.Equal(TlsaResolutionKind.TemporaryFailure, tlsa.Kind);
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
        output.WriteLine($"MX timeout after {mxTime.TotalSeconds:0.00} s: {mx.Failure}");
    }

    [Fact]
    public async Task Resolver_without_listener_is_a_temporary_failure()
    {
        // Nothing bound there: ICMP port unreachable or a timeout, never an answer.
        var dns = new MailDnsResolver(new IPEndPoint(Bed.Address(TestBed.Unreachable), 53), TimeSpan.FromSeconds(1));
        var sw = Stopwatch.StartNew();
        var mx = await dns.ResolveMxAsync(TestBed.MxOk.Name, Ct);
        Assert.Equal(MxResolutionKind.TemporaryFailure, mx.Kind);
        Assert.False(mx.Failure!.Permanent);
        Assert.InRange(sw.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        output.WriteLine($"{sw.Elapsed.TotalSeconds:0.00} s: {mx.Failure}");
    }

    [Fact]
    public async Task Cancellation_by_the_caller_propagates()
    {
        var silent = new IPEndPoint(Bed.Address(TestBed.Silent), 53);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(silent);
        var dns = new MailDnsResolver(silent, TimeSpan.FromSeconds(5));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dns.ResolveMxAsync(TestBed.MxOk.Name, cts.Token));
    }

    [Fact]
    public async Task Config_string_and_invalid_names()
    {
        var dns = new MailDnsResolver(Bed.Resolver.ToString());
        Assert.Equal(Bed.Resolver, dns.Resolver);
        Assert.Equal(MailDnsResolver.DefaultTimeout, dns.Timeout);
        var tooLong = new string('a', 64) + ".test";
        var mx = await dns.ResolveMxAsync(tooLong, Ct);
        Assert.Equal(MxResolutionKind.NoSuchDomain, mx.Kind);
        Assert.Equal(DnsSecurity.Insecure, mx.Security);
    }

    [Fact]
    public async Task Records_conf_replaces_tlsa_and_adds_signed_zones()
    {
        const string tlsa = "3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        var sw = Stopwatch.StartNew();
        // a zone the definition does not have, with an address written as in the definition
        const string extra = "records-conf.test", extraMx = "mx." + extra;
        await using var bed = await DnsTestBed.StartAsync(["127.0.57", "127.0.58", "127.0.59"], mxBase: 20, records:
        [
            "# the DANE tests write their certificates' hashes here",
            TestBed.DaneOk.TlsaLine(tlsa),
            $"{extraMx}. A NET.b+40",
            $"{extra}. MX 10 {extraMx}.",
        ]);
        output.WriteLine($"second test bed started in {sw.Elapsed.TotalSeconds:0.00} s on {bed.Net}");
        var dns = new MailDnsResolver(bed.Resolver, TimeSpan.FromSeconds(3));
        var t = await dns.ResolveTlsaAsync(TestBed.DaneOk.Mx, 25, Ct);
        Assert.Equal(TlsaResolutionKind.Secure, t.Kind);
        Assert.Equal(tlsa, Assert.Single(t.Records).ToString());
        Assert.Equal([bed.AddressOf(TestBed.DaneOk.Mx)], (await dns.ResolveAddressesAsync(TestBed.DaneOk.Mx, Ct)).Addresses);   // --mx-base 20

        var mx = await dns.ResolveMxAsync(extra, Ct);
        Assert.Equal([new MxHost(extraMx, 10)], mx.Hosts);
        Assert.Equal(DnsSecurity.Secure, mx.Security);
        var a = await dns.ResolveAddressesAsync(extraMx, Ct);
        Assert.Equal([Ip(bed.Net + ".60")], a.Addresses);
        Assert.Equal(DnsSecurity.Secure, a.Security);
    }
}
