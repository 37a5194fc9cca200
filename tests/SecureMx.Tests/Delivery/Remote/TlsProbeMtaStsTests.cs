using System.Net;
using System.Text.Json;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.MtaSts;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// `securemx probe`'s MTA-STS part: the TXT record, the policy fetched now, per MX host listed or not
/// and PKIX-valid for its name or why not, and the verdict "would MTA-STS (enforce) deliver".
/// </summary>
public sealed class TlsProbeMtaStsTests
{
    private static readonly Lazy<TestCertificate> MxCertificate = new(() => TestCertificates.IssuedByPrivateCa("mx.example.org"));

    private sealed class FixedFetcher(MtaStsDiscovery discovery, MtaStsFetchResult? fetched = null) : IMtaStsPolicyFetcher
    {
        public Task<MtaStsDiscovery> DiscoverAsync(string domain, CancellationToken cancellationToken = default) => Task.FromResult(discovery);

        public Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken = default) =>
            Task.FromResult(fetched ?? throw new InvalidOperationException("no fetch without a TXT record"));
    }

    private static FixedFetcher Enforce(params string[] mx)
    {
        var policy = new MtaStsPolicy(MtaStsMode.Enforce, mx, TimeSpan.FromDays(1));
        return new FixedFetcher(MtaStsDiscovery.Found(new MtaStsTxtRecord("id1")), MtaStsFetchResult.Fetched(policy, policy.ToText()));
    }

    /// <summary>One MX host on loopback; with <paramref name="tlsa"/> everything DNSSEC-secure and these TLSA records (DANE applies).</summary>
    private sealed class OneMxDns(string mxHost, IReadOnlyList<TlsaRecordData>? tlsa = null) : IMailDnsResolver
    {
        private DnsSecurity Security => tlsa is null ? DnsSecurity.Insecure : DnsSecurity.Secure;

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) =>
            Task.FromResult(MxResolution.FromRecords(domain, [(mxHost, 10)], Security, new Random(1)));

        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
            Task.FromResult(AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], Security), DnsAnswer<IPAddress>.NoData(Security)));

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken ct = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Insecure));

        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) =>
            tlsa is null ? throw new InvalidOperationException("insecure: no TLSA lookup")
            : Task.FromResult(TlsaResolution.FromAnswer($"_{port}._tcp.{host}", DnsAnswer<TlsaRecordData>.Found(tlsa, DnsSecurity.Secure)));
    }

    private static Task<ProbeReport> ProbeAsync(SmtpTestServer peer, string mxHost, IMtaStsPolicyFetcher fetcher, IReadOnlyList<TlsaRecordData>? tlsa = null)
    {
        var options = new SecureMxOptions { Hostname = "probe.test", Delivery = { SmtpPort = peer.Endpoint.Port, ConnectTimeoutSeconds = 5 } };
        var probe = new TlsProbe(new OneMxDns(mxHost, tlsa), options, TimeProvider.System, fetcher, new PkixTrust([MxCertificate.Value.Ca!]));
        return probe.ProbeAsync("example.org", TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AListedMxWithAValidCertificateWouldDeliver()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var r = await ProbeAsync(peer, "mx.example.org", Enforce("*.example.org"));
        Assert.Equal(("v=STSv1; id=id1;", "id1", "enforce", 86400L), (r.MtaSts!.Txt, r.MtaSts.PolicyId, r.MtaSts.Mode, r.MtaSts.MaxAgeSeconds));
        Assert.Equal(["*.example.org"], r.MtaSts.Mx);
        var a = Assert.Single(r.Addresses);
        Assert.Equal((true, true), (a.MtaStsListed, a.PkixValid));
        Assert.Equal("certificate verified (PKIX) for mx.example.org", a.PkixDetail);
        Assert.True(r.MtaSts.Delivers);
        Assert.StartsWith("yes: every MX address is listed", r.MtaSts.Verdict);
        Assert.True(r.Judged);
        Assert.DoesNotContain("mtaStsEnforce", JsonSerializer.Serialize(r, ConfigLoader.Json)); // probe --json keeps its format
    }

    [Fact]
    public async Task AnUnlistedMxWouldNot()
    {
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var r = await ProbeAsync(peer, "mx.example.org", Enforce("mx.other.test"));
        Assert.False(r.Addresses.Single().MtaStsListed);
        Assert.False(r.MtaSts!.Delivers);
        Assert.Equal("no: mx.example.org[127.0.0.1]: not listed in the policy", r.MtaSts.Verdict);
    }

    [Fact]
    public async Task AnUntrustedCertificateWouldNotAndTheProbeSaysWhy()
    {
        await using var peer = await SmtpTestServer.StartAsync(); // self-signed
        var r = await ProbeAsync(peer, "mx.example.org", Enforce("mx.example.org"));
        var a = r.Addresses.Single();
        Assert.Equal((true, false), (a.MtaStsListed, a.PkixValid));
        Assert.StartsWith("certificate not trusted", a.PkixDetail);
        Assert.False(r.MtaSts!.Delivers);
        Assert.StartsWith("no: mx.example.org[127.0.0.1]: certificate not trusted", r.MtaSts.Verdict);
    }

    [Fact]
    public async Task WhereDaneAppliesItsVerdictDecidesAsInDeliveryNotTheListOrPkix()
    {
        // RFC 8461 §2: delivery gives a host with usable DNSSEC-secure TLSA records to DANE alone (HostTlsRequirement's
        // DANE mode), so a TLSA mismatch fails it however valid the certificate is by PKIX and however listed the host.
        await using var peer = await SmtpTestServer.StartAsync(certificate: MxCertificate.Value);
        var mismatch = new TlsaRecordData(3, 1, 1, new byte[32]);
        var r = await ProbeAsync(peer, "mx.example.org", Enforce("mx.example.org"), [mismatch]);
        var a = r.Addresses.Single();
        Assert.Equal((true, true, false), (a.MtaStsListed, a.PkixValid, a.DaneVerified));
        Assert.False(r.MtaSts!.Delivers);
        Assert.StartsWith("no: mx.example.org[127.0.0.1]: DANE applies (RFC 8461 §2) and does not verify", r.MtaSts.Verdict);

        // DANE-verified: delivered, listed or not (the DNSSEC-secure MX RRset stands in for the policy's list).
        var matching = new TlsaRecordData(3, 1, 1, Convert.FromHexString(MxCertificate.Value.LeafSpkiSha256));
        var verified = await ProbeAsync(peer, "mx.example.org", Enforce("mx.other.test"), [matching]);
        Assert.Equal((false, true), (verified.Addresses.Single().MtaStsListed, verified.Addresses.Single().DaneVerified));
        Assert.True(verified.MtaSts!.Delivers);
    }

    [Fact]
    public async Task AFailedTxtLookupCannotBeJudgedAndAMissingRecordIsNoPolicy()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var failed = await ProbeAsync(peer, "mx.example.org", new FixedFetcher(MtaStsDiscovery.Failed("SERVFAIL")));
        Assert.False(failed.Judged);
        Assert.Equal("cannot judge: the TXT lookup of _mta-sts.example.org failed: SERVFAIL", failed.MtaSts!.Verdict);

        var none = await ProbeAsync(peer, "mx.example.org", new FixedFetcher(MtaStsDiscovery.NoRecord));
        Assert.True(none.Judged);
        Assert.Equal(("none", (bool?)null), (none.MtaSts!.Txt, none.MtaSts.Delivers));
        Assert.Null(none.Addresses.Single().MtaStsListed);
    }

    [Fact]
    public async Task APolicyThatCannotBeFetchedSaysWhyInRfc8460Terms()
    {
        await using var peer = await SmtpTestServer.StartAsync(withTls: false);
        var r = await ProbeAsync(peer, "mx.example.org",
            new FixedFetcher(MtaStsDiscovery.Found(new MtaStsTxtRecord("id1")), MtaStsFetchResult.Failed(SecureMx.MtaSts.MtaStsFailure.WebPki("certificate not trusted"))));
        Assert.Equal("sts-webpki-invalid: certificate not trusted", r.MtaSts!.Failure);
        Assert.StartsWith("no policy to be had: sts-webpki-invalid: certificate not trusted", r.MtaSts.Verdict);
        Assert.True(r.Judged);
    }
}
