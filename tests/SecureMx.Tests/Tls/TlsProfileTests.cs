using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Tests.Tls;

/// <summary>The two TLS profiles: what each lets OpenSSL negotiate.</summary>
public sealed class TlsProfileTests
{
    [Fact]
    public void TheOpportunisticProfileOffersEverySuiteThatEncryptsAndNoneThatDoesNot()
    {
        var suites = TlsProfile.Opportunistic.CipherSuites;
        Assert.NotNull(suites); // a static initialised before the list would leave it null: OpenSSL's defaults, no TLS 1.0
        Assert.All(TlsGrading.StrictSuites, s => Assert.Contains(s, suites));
        Assert.Contains(TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, suites);
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, suites);
        Assert.DoesNotContain(suites, s => s.ToString().Contains("NULL", StringComparison.Ordinal) || s.ToString().Contains("anon", StringComparison.Ordinal)
            || s.ToString().Contains("EXPORT", StringComparison.Ordinal) || s.ToString().Contains("RC4", StringComparison.Ordinal) || s.ToString().Contains("_DES_", StringComparison.Ordinal));
        Assert.Equal(suites.Count, suites.Distinct().Count());
    }

    [Fact]
    public void TheOpportunisticProfileEnablesTls10To13AtTheLowestSecurityLevelAndTheStrictOneDoesNot()
    {
        var lax = new SslClientAuthenticationOptions();
        TlsProfile.Opportunistic.ApplyTo(lax);
        var strict = new SslClientAuthenticationOptions();
        TlsProfile.Strict.ApplyTo(strict);

#pragma warning disable SYSLIB0039, SYSLIB0040, CA5397 // naming the old protocols and the policy to check them
        Assert.Equal(SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13, lax.EnabledSslProtocols);
        Assert.Equal(EncryptionPolicy.AllowNoEncryption, lax.EncryptionPolicy);
        Assert.NotNull(lax.CipherSuitesPolicy); // without it that policy would add OpenSSL's NULL ciphers
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, strict.EnabledSslProtocols);
        Assert.Equal(EncryptionPolicy.RequireEncryption, strict.EncryptionPolicy);
#pragma warning restore SYSLIB0039, SYSLIB0040, CA5397
        Assert.Equal(TlsGrading.StrictSuites.Order(), strict.CipherSuitesPolicy!.AllowedCipherSuites.Order());
    }

    [Theory]
    [InlineData("opportunistic")]
    [InlineData("strict")]
    public void AClientOfferingTls13GetsSharedTls13OptionsWithoutASuitePolicySoThatOpenSslKeepsOneContext(string name)
    {
        var profile = TlsProfile.Parse(name);
        var certificate = SelfSignedContext();
        var options = profile.ServerOptions(certificate, SslProtocols.Tls12 | SslProtocols.Tls13);
        Assert.Equal(SslProtocols.Tls13, options.EnabledSslProtocols);
        Assert.Null(options.CipherSuitesPolicy); // .NET caches the SSL_CTX only without one
        Assert.Equal(EncryptionPolicy.RequireEncryption, options.EncryptionPolicy);
        Assert.Same(certificate, options.ServerCertificateContext);
        Assert.Same(options, profile.ServerOptions(certificate, SslProtocols.Tls13));
    }

    [Fact]
    public void AClientWithoutTls13GetsTheProfilesOwnOptionsOncePerCertificate()
    {
        var certificate = SelfSignedContext();
        var options = TlsProfile.Opportunistic.ServerOptions(certificate, SslProtocols.Tls12);
        Assert.Equal(TlsProfile.Opportunistic.Protocols, options.EnabledSslProtocols);
        Assert.NotNull(options.CipherSuitesPolicy);
        Assert.Same(options, TlsProfile.Opportunistic.ServerOptions(certificate, SslProtocols.None));
        Assert.NotSame(options, TlsProfile.Opportunistic.ServerOptions(SelfSignedContext(), SslProtocols.Tls12));
    }

    private static SslStreamCertificateContext SelfSignedContext()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mx.example.org", key, HashAlgorithmName.SHA256);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return SslStreamCertificateContext.Create(certificate, null, offline: true);
    }
}
