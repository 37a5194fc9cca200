using System.Net;
using DnsClient;
using SecureMx.Dns;
using SecureMx.Tls;

namespace SecureMx.Tests.Dns;

public sealed class AddressAndTlsaResolutionTests
{
    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::1");

    private static DnsAnswer<IPAddress> Found(DnsSecurity s, params IPAddress[] a) => DnsAnswer<IPAddress>.Found(a, s);

    [Fact]
    public void Both_families_are_combined_ipv6_first()
    {
        var r = AddressResolution.Combine("mx.test", Found(DnsSecurity.Secure, V4, V4), Found(DnsSecurity.Secure, V6));
        Assert.Equal([V4], r.IPv4);
        Assert.Equal([V6], r.IPv6);
        Assert.Equal([V6, V4], r.Addresses);
        Assert.Equal(DnsSecurity.Secure, r.Security);
        Assert.True(r.HasAddresses);
        Assert.Null(r.Failure);
        Assert.Null(r.PartialFailure);
    }

    [Fact]
    public void Secure_only_when_every_used_answer_is_secure()
    {
        var r = AddressResolution.Combine("mx.test", Found(DnsSecurity.Secure, V4), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure));
        Assert.Equal(DnsSecurity.Insecure, r.Security);
        r = AddressResolution.Combine("mx.test", Found(DnsSecurity.Secure, V4), DnsAnswer<IPAddress>.NoData(DnsSecurity.Secure));
        Assert.Equal(DnsSecurity.Secure, r.Security);
    }

    [Fact]
    public void One_family_failing_still_gives_the_other_addresses()
    {
        var r = AddressResolution.Combine("mx.test", Found(DnsSecurity.Secure, V4), DnsAnswer<IPAddress>.Fail("SERVFAIL"));
        Assert.Equal([V4], r.Addresses);
        Assert.False(r.IsTemporaryFailure);
        Assert.Equal("AAAA: SERVFAIL", r.PartialFailure);
        Assert.Equal(DnsSecurity.Secure, r.Security);   // from the answer that was used
        Assert.Null(r.Failure);
    }

    [Fact]
    public void Failure_without_addresses_defers()
    {
        var r = AddressResolution.Combine("mx.test", DnsAnswer<IPAddress>.Fail("timeout"), DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Secure));
        Assert.True(r.IsTemporaryFailure);
        Assert.False(r.HasAddresses);
        Assert.Equal("4.4.3 DNS lookup of A/AAAA for mx.test failed: A: timeout", r.Failure!.ToString());
        Assert.False(r.Failure.Permanent);
    }

    [Fact]
    public void Nxdomain_and_nodata_give_no_addresses()
    {
        var nx = AddressResolution.Combine("mx.test", DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Secure), DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Secure));
        Assert.True(nx.HostDoesNotExist);
        Assert.False(nx.IsTemporaryFailure);
        Assert.Equal("5.4.4 mail host mx.test does not exist (NXDOMAIN)", nx.Failure!.ToString());
        var nodata = AddressResolution.Combine("mx.test", DnsAnswer<IPAddress>.NoData(DnsSecurity.Secure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Secure));
        Assert.False(nodata.HostDoesNotExist);
        Assert.Equal("5.4.4 mail host mx.test has no address (A/AAAA) record", nodata.Failure!.ToString());
        Assert.True(nodata.Failure.Permanent);
    }

    private static readonly TlsaRecordData Ee = new(3, 1, 1, Convert.FromHexString("8f2d1c6ae73bb6f0d0c3a8b1e5f4a2d9c7b6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"));

    [Fact]
    public void Tlsa_secure_answer_is_usable_without_duplicates()
    {
        var copy = new TlsaRecordData(3, 1, 1, Ee.Data.Span);
        var r = TlsaResolution.FromAnswer("_25._tcp.mx.test", DnsAnswer<TlsaRecordData>.Found([Ee, copy], DnsSecurity.Secure));
        Assert.Equal(TlsaResolutionKind.Secure, r.Kind);
        Assert.Equal([Ee], r.Records);
        Assert.Null(r.Failure);
    }

    [Fact]
    public void Tlsa_insecure_answer_hands_out_no_records()
    {
        var r = TlsaResolution.FromAnswer("_25._tcp.mx.test", DnsAnswer<TlsaRecordData>.Found([Ee], DnsSecurity.Insecure));
        Assert.Equal(TlsaResolutionKind.Insecure, r.Kind);
        Assert.Empty(r.Records);
        Assert.Equal(TlsaResolutionKind.Insecure,
            TlsaResolution.FromAnswer("n", DnsAnswer<TlsaRecordData>.NxDomain(DnsSecurity.Insecure)).Kind);
    }

    [Fact]
    public void Tlsa_secure_denial_is_secure_none()
    {
        Assert.Equal(TlsaResolutionKind.SecureNone, TlsaResolution.FromAnswer("n", DnsAnswer<TlsaRecordData>.NxDomain(DnsSecurity.Secure)).Kind);
        Assert.Equal(TlsaResolutionKind.SecureNone, TlsaResolution.FromAnswer("n", DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure)).Kind);
        Assert.Equal(TlsaResolutionKind.SecureNone, TlsaResolution.FromAnswer("n", DnsAnswer<TlsaRecordData>.Found([], DnsSecurity.Secure)).Kind);
    }

    [Fact]
    public void Tlsa_failure_defers_and_never_downgrades()
    {
        var r = TlsaResolution.FromAnswer("_25._tcp.mx.test", DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"));
        Assert.Equal(TlsaResolutionKind.TemporaryFailure, r.Kind);
        Assert.Equal("4.7.5 TLSA lookup error for _25._tcp.mx.test: SERVFAIL", r.Failure!.ToString());
        Assert.False(r.Failure.Permanent);
    }

    [Fact]
    public void Tlsa_owner_name_and_record_text()
    {
        Assert.Equal("_25._tcp.mx.example.test", TlsaResolution.OwnerName("mx.example.test.", 25));
        Assert.Equal("3 1 1 8f2d1c6ae73bb6f0d0c3a8b1e5f4a2d9c7b6e5f4a3b2c1d0e9f8a7b6c5d4e3f2", Ee.ToString());
        Assert.Equal(Ee, new TlsaRecordData(3, 1, 1, Ee.Data.Span));
        Assert.NotEqual(Ee, new TlsaRecordData(2, 1, 1, Ee.Data.Span));
        Assert.Equal(Ee.GetHashCode(), new TlsaRecordData(3, 1, 1, Ee.Data.Span).GetHashCode());
    }

    [Theory]
    [InlineData("off")]
    [InlineData("127.0.0.1")]
    [InlineData("::1:53")]
    public void Resolver_config_must_be_addr_port(string text)
    {
        Assert.Throws<FormatException>(() => new MailDnsResolver(text));
    }

    [Fact]
    public void Resolver_config_accepts_ipv6()
    {
        var r = new MailDnsResolver("[::1]:5353", TimeSpan.FromSeconds(2));
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 5353), r.Resolver);
        Assert.Equal(TimeSpan.FromSeconds(2), r.Timeout);
    }

    [Fact]
    public void Rcode_names_match_dig()
    {
        Assert.Equal("SERVFAIL", MailDnsResolver.RcodeName(DnsHeaderResponseCode.ServerFailure));
        Assert.Equal("REFUSED", MailDnsResolver.RcodeName(DnsHeaderResponseCode.Refused));
        Assert.Equal("FORMERR", MailDnsResolver.RcodeName(DnsHeaderResponseCode.FormatError));
    }
}
