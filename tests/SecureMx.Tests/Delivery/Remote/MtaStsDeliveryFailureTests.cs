using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.TestKit;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// The RFC 8460 result type of a certificate that fails MTA-STS (§4.3.1), from PkixTrust's verdict,
/// and the requirement an enforced policy puts on a host.
/// </summary>
public sealed class MtaStsDeliveryFailureTests
{
    private static string ResultType(TestCertificate certificate, string host, bool trustCa = true)
    {
        var trust = trustCa && certificate.Ca is { } ca ? new PkixTrust([ca]) : PkixTrust.SystemOnly;
        return MtaStsFailureTypes.Of(trust.Validate(certificate.Leaf, certificate.Issuers, host, DateTimeOffset.UtcNow)).Name();
    }

    [Fact]
    public void ACertificateForAnotherNameIsAHostMismatch()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.example.org");
        Assert.Equal("certificate-host-mismatch", ResultType(cert, "mx.other.test"));
    }

    [Fact]
    public void AnExpiredCertificateIsExpired()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.example.org", notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        Assert.Equal("certificate-expired", ResultType(cert, "mx.example.org"));
    }

    [Fact]
    public void AnUnknownCaIsNotTrusted()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.example.org");
        Assert.Equal("certificate-not-trusted", ResultType(cert, "mx.example.org", trustCa: false));
        using var selfSigned = TestCertificates.SelfSigned("mx.example.org");
        Assert.Equal("certificate-not-trusted", ResultType(selfSigned, "mx.example.org"));
    }

    [Fact]
    public void AValidCertificateHasNoResultType()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.example.org");
        Assert.Throws<ArgumentException>(() => ResultType(cert, "mx.example.org"));
    }

    [Theory]
    [InlineData(PkixFailure.Expired, "certificate-expired")]
    [InlineData(PkixFailure.NameMismatch, "certificate-host-mismatch")]
    [InlineData(PkixFailure.NotTrusted, "certificate-not-trusted")]
    [InlineData(PkixFailure.NoCertificate, "validation-failure")]
    [InlineData(PkixFailure.NotChecked, "validation-failure")]
    public void TheResultTypeIsTheVerdictsFailureKindNotItsWording(PkixFailure failure, string resultType) =>
        // A detail worded like another failure: only the kind counts.
        Assert.Equal(resultType, MtaStsFailureTypes.Of(new PkixVerdict(failure, "certificate is not for x (certificate not trusted: expired or not yet valid)")).Name());

    [Fact]
    public void FetchAndDeliveryWriteOneVocabularyOfDistinctRfc8460ResultTypes()
    {
        var names = Enum.GetValues<TlsResultType>().Select(t => t.Name()).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal("sts-webpki-invalid: x", new MtaStsDeliveryFailure(MtaStsFailure.WebPki("x").Type, "x").ToString());
        Assert.Equal("starttls-not-supported: x", new MtaStsDeliveryFailure(TlsResultType.StartTlsNotSupported, "x").ToString());
    }

    [Fact]
    public void EnforceAsksStrictTlsAndPkixPerHostAndIsLoggedAsMtaSts()
    {
        var r = HostTlsRequirement.MtaStsEnforce;
        Assert.Equal((HostTlsMode.MtaSts, true, true, TlsVerification.MtaSts), (r.Mode, r.StrictProfile, r.TlsRequired, r.Verification));
        Assert.Equal(TlsProfile.Strict, r.Profile);
        Assert.NotEqual(r.CacheKey("mx1.example.org"), r.CacheKey("mx2.example.org"));
        Assert.Equal("validation-failure: mx.evil.test is not listed", new MtaStsDeliveryFailure(TlsResultType.ValidationFailure, "mx.evil.test is not listed").ToString());
    }
}
