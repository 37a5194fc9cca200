using SecureMx.Config;
using SecureMx.MtaSts;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.MtaSts;

/// <summary>The check `policy mta-sts … enforce` makes: is tls.certificate valid by PKIX for every MX name the policy lists?</summary>
public sealed class MtaStsMxCertificateCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SecureMxOptions Options(TestCertificate certificate, bool trustTheCa, string secureMx = "mx.provider.test")
    {
        var files = certificate.WritePem(_dir.Combine("tls"));
        return new SecureMxOptions
        {
            Hostname = "mx.provider.test",
            SecureMxHostname = secureMx,
            Tls = { Certificate = files.CertFile, Key = files.KeyFile },
            Delivery = { TrustAnchorsFile = trustTheCa ? "tls/server-ca.pem" : "" },
        };
    }

    [Fact]
    public void ACertificateFromATrustedCaForTheNameIsValid()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.provider.test");
        var verdicts = MtaStsMxCertificateCheck.Check(_dir.Path, Options(cert, trustTheCa: true), inboundMandatory: false, DateTimeOffset.UtcNow);
        var (host, verdict) = Assert.Single(verdicts);
        Assert.Equal("mx.provider.test", host);
        Assert.True(verdict.Valid, verdict.Detail);
    }

    [Fact]
    public void ACertificateNoCaVouchesForIsNot()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.provider.test");
        var (_, verdict) = Assert.Single(MtaStsMxCertificateCheck.Check(_dir.Path, Options(cert, trustTheCa: false), false, DateTimeOffset.UtcNow));
        Assert.False(verdict.Valid);
        Assert.Contains("not trusted", verdict.Detail);
    }

    [Fact]
    public void EveryListedNameIsCheckedAndANameTheCertificateLacksIsNamed()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mx.provider.test");
        var options = Options(cert, trustTheCa: true, secureMx: "secure.provider.test");
        var verdicts = MtaStsMxCertificateCheck.Check(_dir.Path, options, inboundMandatory: false, DateTimeOffset.UtcNow);
        Assert.Equal(["secure.provider.test", "mx.provider.test"], verdicts.Select(v => v.Host));
        Assert.False(verdicts[0].Verdict.Valid);
        Assert.Contains("not for secure.provider.test", verdicts[0].Verdict.Detail);
        Assert.True(verdicts[1].Verdict.Valid);
        // Inbound mandatory: only the secure MX is listed, so only it is checked.
        Assert.Equal(["secure.provider.test"], MtaStsMxCertificateCheck.Check(_dir.Path, options, inboundMandatory: true, DateTimeOffset.UtcNow).Select(v => v.Host));
    }

    [Fact]
    public void AnUnreadableCertificateIsReportedNotThrown()
    {
        var options = new SecureMxOptions { Hostname = "mx.provider.test", Tls = { Certificate = "tls/missing.pem" } };
        var (_, verdict) = Assert.Single(MtaStsMxCertificateCheck.Check(_dir.Path, options, false, DateTimeOffset.UtcNow));
        Assert.False(verdict.Valid);
        Assert.Contains("cannot be checked", verdict.Detail);
    }
}
