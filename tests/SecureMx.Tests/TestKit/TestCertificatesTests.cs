using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.TestKit;

/// <summary>The one test-certificate generator: what it makes is what the TLS and DANE tests rely on.</summary>
public sealed class TestCertificatesTests
{
    private const string Host = "mx.example.test";

    private static X509Chain ChainTrusting(X509Certificate2 anchor, params X509Certificate2[] extra)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);
        chain.ChainPolicy.ExtraStore.AddRange(extra);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain;
    }

    [Fact]
    public void ASelfSignedLeafIsAServerCertificateForItsNameWithItsKey()
    {
        using var c = TestCertificates.SelfSigned(Host);
        Assert.Equal(c.Leaf.SubjectName.Name, c.Leaf.IssuerName.Name);
        Assert.Equal($"CN={Host}", c.Leaf.Subject);
        Assert.Equal(Host, c.Leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false));
        Assert.True(c.Leaf.MatchesHostname(Host));
        Assert.True(c.Leaf.HasPrivateKey);
        Assert.Equal(256, c.Leaf.GetECDsaPublicKey()!.KeySize);
        Assert.False(c.Leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Contains(c.Leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        Assert.Empty(c.Issuers);
        Assert.Null(c.Ca);
        Assert.Throws<InvalidOperationException>(() => c.TlsaDaneTa);
    }

    [Fact]
    public void AnRsaLeafHasA2048BitKeyThatMayEncipherForRsaKeyExchange()
    {
        using var c = TestCertificates.SelfSigned(Host, TestKeyType.Rsa2048);
        Assert.Equal(2048, c.Leaf.GetRSAPublicKey()!.KeySize);
        Assert.True(c.Leaf.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyEncipherment));
        Assert.IsAssignableFrom<RSA>(c.LeafKey);
    }

    [Fact]
    public void ValidityWindowsMayLieInThePastOrInTheFuture()
    {
        var now = DateTimeOffset.UtcNow;
        using var expired = TestCertificates.SelfSigned(Host, notAfter: now.AddDays(-1));
        Assert.True(expired.Leaf.NotAfter.ToUniversalTime() < now.UtcDateTime);
        Assert.True(expired.Leaf.NotBefore < expired.Leaf.NotAfter);
        using var future = TestCertificates.IssuedByPrivateCa(Host, notBefore: now.AddDays(2));
        Assert.True(future.Leaf.NotBefore.ToUniversalTime() > now.UtcDateTime);
        Assert.True(future.Leaf.NotAfter > future.Leaf.NotBefore);
        using var byDefault = TestCertificates.SelfSigned(Host);
        Assert.InRange(byDefault.Leaf.NotBefore.ToUniversalTime(), now.UtcDateTime.AddYears(-1).AddDays(-1), now.UtcDateTime.AddYears(-1).AddDays(1));
        Assert.True(byDefault.Leaf.NotAfter.ToUniversalTime() > now.UtcDateTime.AddDays(300));
    }

    [Fact]
    public void AValidityThatEndsBeforeItBeginsIsRefused()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.Throws<ArgumentException>(() => TestCertificates.SelfSigned(Host, notBefore: now, notAfter: now.AddDays(-1)));
    }

    [Fact]
    public void APrivateCaIssuesTheLeafAndIsItsOnlyTrustAnchor()
    {
        using var c = TestCertificates.IssuedByPrivateCa(Host, "Test CA");
        var ca = Assert.Single(c.Issuers);
        Assert.Same(ca, c.Ca);
        Assert.Null(c.Intermediate);
        Assert.Equal("CN=Test CA", c.Leaf.Issuer);
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.Equal(0, constraints.PathLengthConstraint);
        using var chain = ChainTrusting(ca);
        Assert.True(chain.Build(c.Leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        using var stranger = TestCertificates.IssuedByPrivateCa(Host, "Test CA");
        using var wrong = ChainTrusting(stranger.Ca!);
        Assert.False(wrong.Build(c.Leaf));
    }

    [Fact]
    public void AnExpiredLeafOfAPrivateCaChainsToACaThatCoversItsValidity()
    {
        var past = DateTimeOffset.UtcNow.AddYears(-3);
        using var c = TestCertificates.IssuedByPrivateCa(Host, notBefore: past, notAfter: past.AddDays(30));
        Assert.True(c.Ca!.NotBefore <= c.Leaf.NotBefore && c.Ca.NotAfter >= c.Leaf.NotAfter);
        using var chain = ChainTrusting(c.Ca);
        chain.ChainPolicy.VerificationTime = past.AddDays(1).UtcDateTime;
        Assert.True(chain.Build(c.Leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    public void AChainThroughAnIntermediateVerifiesUpToTheRoot()
    {
        using var c = TestCertificates.IssuedThroughIntermediate(Host);
        Assert.Equal(2, c.Issuers.Count);
        Assert.Equal(c.Intermediate!.Subject, c.Leaf.Issuer);
        Assert.Equal(c.Ca!.Subject, c.Intermediate.Issuer);
        Assert.Equal(c.Ca.Subject, c.Ca.Issuer);
        using var chain = ChainTrusting(c.Ca, c.Intermediate);
        Assert.True(chain.Build(c.Leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        Assert.Equal(3, chain.ChainElements.Count);
        // without the intermediate the leaf does not reach the root
        using var broken = ChainTrusting(c.Ca);
        Assert.False(broken.Build(c.Leaf));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(0, 2)]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    public void TlsaDataSelectsAndHashesAsRfc6698Says(int selector, int matchingType)
    {
        using var c = TestCertificates.SelfSigned(Host);
        var selected = selector == 0 ? c.Leaf.RawData : c.Leaf.PublicKey.ExportSubjectPublicKeyInfo();
        var expected = matchingType switch { 0 => selected, 1 => SHA256.HashData(selected), _ => SHA512.HashData(selected) };
        Assert.Equal(expected, TestCertificates.TlsaData(selector, matchingType, c.Leaf));
        Assert.Equal($"2 {selector} {matchingType} {Convert.ToHexStringLower(expected)}", TestCertificates.Tlsa(2, selector, matchingType, c.Leaf));
    }

    [Theory]
    [InlineData(4, 1, 1)]
    [InlineData(3, 2, 1)]
    [InlineData(3, 1, 3)]
    public void TlsaFieldsOutOfRangeAreRefused(int usage, int selector, int matchingType)
    {
        using var c = TestCertificates.SelfSigned(Host);
        Assert.Throws<ArgumentOutOfRangeException>(() => TestCertificates.Tlsa(usage, selector, matchingType, c.Leaf));
    }

    [Fact]
    public void DaneRecordsNameTheLeafKeyAndTheRootCaKey()
    {
        using var c = TestCertificates.IssuedThroughIntermediate(Host);
        Assert.Equal("3 1 1 " + Convert.ToHexStringLower(SHA256.HashData(TestCertificates.Spki(c.Leaf))), c.TlsaDaneEe);
        Assert.Equal("2 1 1 " + c.CaSpkiSha256, c.TlsaDaneTa);
        Assert.Equal(c.LeafSpkiSha256, TestCertificates.SpkiSha256(c.Leaf));
        Assert.NotEqual(c.LeafSpkiSha256, c.CaSpkiSha256);
    }

    [Fact]
    public void PemFilesHoldTheChainAndAKeyOnlyTheOwnerMayRead()
    {
        using var dir = new TempDirectory();
        using var c = TestCertificates.IssuedThroughIntermediate(Host);
        var keyPath = Path.Combine(dir.Path, "peer.key");
        File.WriteAllText(keyPath, "an older key");
        File.SetUnixFileMode(keyPath, (UnixFileMode)0b110_100_100); // 0644: rewriting must tighten it

        var files = c.WritePem(dir.Path, "peer");

        Assert.Equal(keyPath, files.KeyFile);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.KeyFile));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(files.KeyFile));
        var presented = new X509Certificate2Collection();
        presented.ImportFromPemFile(files.CertFile);
        Assert.Equal([c.Leaf.Thumbprint, c.Intermediate!.Thumbprint, c.Ca!.Thumbprint], presented.Select(p => p.Thumbprint));
        using var loaded = X509Certificate2.CreateFromPemFile(files.CertFile, files.KeyFile);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(c.Leaf.Thumbprint, loaded.Thumbprint);
        Assert.Equal(c.Ca.Thumbprint, X509CertificateLoader.LoadCertificateFromFile(files.CaFile!).Thumbprint);

        using var selfSigned = TestCertificates.SelfSigned(Host);
        Assert.Null(selfSigned.WritePem(dir.Path, "self").CaFile);
    }
}
