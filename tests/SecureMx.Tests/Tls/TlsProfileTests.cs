using System.Net.Security;
using System.Security.Authentication;
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
}
