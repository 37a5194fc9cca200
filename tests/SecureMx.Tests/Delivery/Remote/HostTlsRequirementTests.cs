using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>The effective level and the host's TLSA answer together (docs/ARCHITECTURE.md, "Policy model"; RFC 7672 §2.2).</summary>
public sealed class HostTlsRequirementTests
{
    private static readonly TlsaRecordData Usable = new(3, 1, 1, new byte[32]);
    private static readonly TlsaRecordData PkixEe = new(1, 1, 1, new byte[32]);

    private static TlsaResolution Tlsa(DnsAnswer<TlsaRecordData> answer) => TlsaResolution.FromAnswer("_25._tcp.mx.example.test", answer);

    [Theory]
    [InlineData(OutboundTlsLevel.None, HostTlsMode.Plaintext, false)]
    [InlineData(OutboundTlsLevel.May, HostTlsMode.Opportunistic, false)]
    [InlineData(OutboundTlsLevel.Dane, HostTlsMode.Opportunistic, false)]
    [InlineData(OutboundTlsLevel.Encrypt, HostTlsMode.Encrypt, true)]
    [InlineData(OutboundTlsLevel.Verify, HostTlsMode.Verify, true)]
    public void WithoutTlsaTheLevelDecides(OutboundTlsLevel level, HostTlsMode mode, bool strict)
    {
        foreach (var tlsa in new TlsaResolution?[] { null, Tlsa(DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure)), Tlsa(DnsAnswer<TlsaRecordData>.Found([Usable], DnsSecurity.Insecure)) })
        {
            var (r, unusable) = HostTlsRequirement.For(level, tlsa, "mx.example.test");
            Assert.Null(unusable);
            Assert.Equal((mode, strict), (r!.Mode, r.StrictProfile));
        }
    }

    [Theory]
    [InlineData(OutboundTlsLevel.None, false)]
    [InlineData(OutboundTlsLevel.May, false)]
    [InlineData(OutboundTlsLevel.Dane, false)]
    [InlineData(OutboundTlsLevel.Encrypt, true)]
    [InlineData(OutboundTlsLevel.DaneOnly, true)]
    [InlineData(OutboundTlsLevel.Verify, true)]
    public void ASecureUsableTlsaRrsetForcesDaneAtEveryLevel(OutboundTlsLevel level, bool strict)
    {
        var (r, _) = HostTlsRequirement.For(level, Tlsa(DnsAnswer<TlsaRecordData>.Found([Usable, PkixEe], DnsSecurity.Secure)), "mx.example.test");
        Assert.Equal(HostTlsMode.Dane, r!.Mode);
        Assert.Equal(strict, r.StrictProfile);
        Assert.Equal([Usable], r.Tlsa);
        Assert.True(r.TlsRequired);
    }

    [Fact]
    public void TlsaRecordsThatAreAllUnusableStillMakeTlsMandatory()
    {
        var (r, _) = HostTlsRequirement.For(OutboundTlsLevel.Dane, Tlsa(DnsAnswer<TlsaRecordData>.Found([PkixEe], DnsSecurity.Secure)), "mx.example.test");
        Assert.Equal(HostTlsMode.Encrypt, r!.Mode);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.None)]
    [InlineData(OutboundTlsLevel.May)]
    [InlineData(OutboundTlsLevel.Encrypt)]
    public void ATlsaLookupFailureMakesTheHostUnusableAtEveryLevel(OutboundTlsLevel level)
    {
        var (r, unusable) = HostTlsRequirement.For(level, Tlsa(DnsAnswer<TlsaRecordData>.Fail("SERVFAIL")), "mx.example.test");
        Assert.Null(r);
        Assert.Contains("TLSA lookup error", unusable);
    }

    [Fact]
    public void DaneOnlyWithoutTlsaMakesTheHostUnusable()
    {
        Assert.Contains("dane-only", HostTlsRequirement.For(OutboundTlsLevel.DaneOnly, null, "mx.example.test").Unusable);
        Assert.Contains("dane-only", HostTlsRequirement.For(OutboundTlsLevel.DaneOnly, Tlsa(DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure)), "mx.example.test").Unusable);
    }

    [Fact]
    public void CachedConnectionsAreSeparatedByRequirementAndForDaneByHost()
    {
        var may = HostTlsRequirement.For(OutboundTlsLevel.May, null, "a").Requirement!;
        var encrypt = HostTlsRequirement.For(OutboundTlsLevel.Encrypt, null, "a").Requirement!;
        var dane = HostTlsRequirement.For(OutboundTlsLevel.May, Tlsa(DnsAnswer<TlsaRecordData>.Found([Usable], DnsSecurity.Secure)), "a").Requirement!;
        Assert.NotEqual(may.CacheKey("a"), encrypt.CacheKey("a"));
        Assert.NotEqual(dane.CacheKey("mx1.example.test"), dane.CacheKey("mx2.example.test"));
        Assert.Equal(encrypt.CacheKey("mx1.example.test"), encrypt.CacheKey("mx2.example.test"));
    }
}
