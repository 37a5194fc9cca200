using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureMx.IntegrationTests.Support;

/// <summary>Key algorithm of a test certificate (and of its private CA).</summary>
public enum TestKeyType
{
    /// <summary>ECDSA on NIST P-256 with SHA-256 signatures.</summary>
    EcdsaP256,

    /// <summary>RSA 2048 with SHA-256/PKCS#1 v1.5 signatures (needed for RSA key exchange, e.g. the "weak" TLS 1.0 peer).</summary>
    Rsa2048,
}

/// <summary>PEM files written by <see cref="TestCertificate.WritePem"/>.</summary>
/// <param name="CertFile">The leaf followed by its chain (the private CA, if any): what a server sends (postfix-peer.sh --cert).</param>
/// <param name="KeyFile">The leaf's private key, PKCS#8 PEM ("BEGIN PRIVATE KEY"), mode 0600 (postfix-peer.sh --key).</param>
/// <param name="CaFile">The private CA certificate alone (a trust anchor for openssl -CAfile), or null for a self-signed leaf.</param>
public sealed record TestCertificateFiles(string CertFile, string KeyFile, string? CaFile);

/// <summary>
/// A server certificate for tests: a leaf for one DNS name, either self-signed or issued by a
/// private CA, with the DANE TLSA association data that matches it (RFC 6698/7671/7672).
/// </summary>
public sealed class TestCertificate : IDisposable
{
    internal TestCertificate(X509Certificate2 leaf, AsymmetricAlgorithm leafKey, X509Certificate2? ca, string dnsName)
    {
        Leaf = leaf;
        LeafKey = leafKey;
        Ca = ca;
        DnsName = dnsName;
    }

    /// <summary>The server certificate, with its private key.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>The leaf's private key (ECDsa or RSA).</summary>
    public AsymmetricAlgorithm LeafKey { get; }

    /// <summary>The private CA that issued <see cref="Leaf"/> (with its private key), or null if the leaf is self-signed.</summary>
    public X509Certificate2? Ca { get; }

    /// <summary>The DNS name in the leaf's subjectAltName (and CN).</summary>
    public string DnsName { get; }

    /// <summary>Lower-case hex SHA-256 of the leaf's DER SubjectPublicKeyInfo.</summary>
    public string LeafSpkiSha256 => TestCertificates.SpkiSha256(Leaf);

    /// <summary>Lower-case hex SHA-256 of the CA's DER SubjectPublicKeyInfo (null if self-signed).</summary>
    public string? CaSpkiSha256 => Ca is null ? null : TestCertificates.SpkiSha256(Ca);

    /// <summary>TLSA data "3 1 1 &lt;sha256 of the leaf SPKI&gt;" (DANE-EE, SPKI, SHA-256).</summary>
    public string TlsaDaneEe => "3 1 1 " + LeafSpkiSha256;

    /// <summary>TLSA data "2 1 1 &lt;sha256 of the CA SPKI&gt;" (DANE-TA, SPKI, SHA-256); throws for a self-signed leaf.</summary>
    public string TlsaDaneTa => Ca is null
        ? throw new InvalidOperationException($"the certificate for {DnsName} is self-signed: no DANE-TA record")
        : "2 1 1 " + CaSpkiSha256;

    /// <summary>The leaf followed by the CA (if any), PEM.</summary>
    public string ChainPem
    {
        get
        {
            var sb = new StringBuilder(Leaf.ExportCertificatePem()).Append('\n');
            if (Ca is not null) sb.Append(Ca.ExportCertificatePem()).Append('\n');
            return sb.ToString();
        }
    }

    /// <summary>The leaf's private key, PKCS#8 PEM.</summary>
    public string KeyPem => LeafKey.ExportPkcs8PrivateKeyPem() + "\n";

    /// <summary>
    /// Writes DIR/NAME.pem (leaf + chain), DIR/NAME.key (mode 0600) and, with a private CA,
    /// DIR/NAME-ca.pem. Creates DIR if needed.
    /// </summary>
    public TestCertificateFiles WritePem(string dir, string name = "server")
    {
        Directory.CreateDirectory(dir);
        var cert = Path.Combine(dir, name + ".pem");
        var key = Path.Combine(dir, name + ".key");
        File.WriteAllText(cert, ChainPem);
        File.WriteAllText(key, "");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(key, KeyPem);
        string? ca = null;
        if (Ca is not null)
        {
            ca = Path.Combine(dir, name + "-ca.pem");
            File.WriteAllText(ca, Ca.ExportCertificatePem() + "\n");
        }
        return new TestCertificateFiles(cert, key, ca);
    }

    public void Dispose()
    {
        Leaf.Dispose();
        LeafKey.Dispose();
        Ca?.Dispose();
    }
}

/// <summary>Creates certificates for TLS and DANE tests (System.Security.Cryptography only, no openssl).</summary>
public static class TestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    /// <summary>A self-signed server certificate for <paramref name="dnsName"/> (subjectAltName and CN), valid from a day ago for a year unless given.</summary>
    public static TestCertificate SelfSigned(string dnsName, TestKeyType keyType = TestKeyType.EcdsaP256,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var (from, to) = Validity(notBefore, notAfter);
        var key = NewKey(keyType);
        var req = LeafRequest(dnsName, key);
        // CreateSelfSigned already attaches the private key
        return new TestCertificate(req.CreateSelfSigned(from, to), key, null, dnsName);
    }

    /// <summary>
    /// A private CA (CN=<paramref name="caName"/>, basicConstraints CA:TRUE pathlen 0, keyCertSign) and a
    /// leaf for <paramref name="dnsName"/> signed by it. Both use <paramref name="keyType"/>; the CA is
    /// valid from a day ago for ten years, the leaf for the given or default (one year) period.
    /// </summary>
    public static TestCertificate IssuedByPrivateCa(string dnsName, string caName = "SecureMx Test CA", TestKeyType keyType = TestKeyType.EcdsaP256,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var (from, to) = Validity(notBefore, notAfter);
        using var caKey = NewKey(keyType);
        var caReq = NewRequest(new X500DistinguishedName("CN=" + caName), caKey);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caReq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caReq.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = caReq.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));

        var key = NewKey(keyType);
        var req = LeafRequest(dnsName, key);
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        if (from < ca.NotBefore) from = ca.NotBefore.ToUniversalTime();
        if (to > ca.NotAfter) to = ca.NotAfter.ToUniversalTime();
        using var leaf = req.Create(ca, from, to, serial);
        return new TestCertificate(WithKey(leaf, key), key, ca, dnsName);
    }

    /// <summary>Lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo (TLSA selector 1, matching type 1).</summary>
    public static string SpkiSha256(X509Certificate2 cert) =>
        Convert.ToHexStringLower(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>
    /// TLSA record data "U S M hex" for any usage (0-3), selector (0 = whole certificate, 1 = SPKI)
    /// and matching type (0 = full, 1 = SHA-256, 2 = SHA-512), lower-case hex.
    /// </summary>
    public static string Tlsa(int usage, int selector, int matchingType, X509Certificate2 cert)
    {
        byte[] data = selector switch
        {
            0 => cert.RawData,
            1 => cert.PublicKey.ExportSubjectPublicKeyInfo(),
            _ => throw new ArgumentOutOfRangeException(nameof(selector)),
        };
        byte[] assoc = matchingType switch
        {
            0 => data,
            1 => SHA256.HashData(data),
            2 => SHA512.HashData(data),
            _ => throw new ArgumentOutOfRangeException(nameof(matchingType)),
        };
        if (usage is < 0 or > 3) throw new ArgumentOutOfRangeException(nameof(usage));
        return $"{usage} {selector} {matchingType} {Convert.ToHexStringLower(assoc)}";
    }

    private static (DateTimeOffset, DateTimeOffset) Validity(DateTimeOffset? notBefore, DateTimeOffset? notAfter)
    {
        var now = DateTimeOffset.UtcNow;
        return (notBefore ?? now.AddDays(-1), notAfter ?? now.AddYears(1));
    }

    private static AsymmetricAlgorithm NewKey(TestKeyType type) => type switch
    {
        TestKeyType.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        TestKeyType.Rsa2048 => RSA.Create(2048),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException("unsupported key", nameof(key)),
    };

    private static CertificateRequest LeafRequest(string dnsName, AsymmetricAlgorithm key)
    {
        var req = NewRequest(new X500DistinguishedName("CN=" + dnsName), key);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var usage = X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : 0);
        req.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        return req;
    }

    private static X509Certificate2 WithKey(X509Certificate2 cert, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => cert.CopyWithPrivateKey(ec),
        RSA rsa => cert.CopyWithPrivateKey(rsa),
        _ => throw new ArgumentException("unsupported key", nameof(key)),
    };
}
