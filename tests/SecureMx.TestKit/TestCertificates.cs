using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.TestKit;

/// <summary>
/// The one maker of test certificates for both test projects (System.Security.Cryptography only, no
/// openssl): self-signed leaves, a private CA with a leaf, a root, an intermediate and a leaf, any
/// validity window, and the TLSA data that matches them.
/// </summary>
public static class TestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    /// <summary>
    /// A self-signed server certificate for <paramref name="dnsName"/> (subjectAltName and CN). Valid from
    /// a year ago to a year ahead unless given; a window in the past (expired) or in the future (not yet valid) is fine.
    /// </summary>
    public static TestCertificate SelfSigned(string dnsName, TestKeyType keyType = TestKeyType.EcdsaP256,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var (from, to) = Validity(notBefore, notAfter);
        var key = NewKey(keyType);
        // CreateSelfSigned attaches the private key already.
        return new TestCertificate(LeafRequest(dnsName, key).CreateSelfSigned(from, to), key, [], dnsName);
    }

    /// <summary>
    /// A private CA (CN=<paramref name="caName"/>, CA:TRUE with path length 0) and a leaf for
    /// <paramref name="dnsName"/> signed by it, both with <paramref name="keyType"/>. The leaf has the
    /// given (default: from a year ago to a year ahead) validity; the CA's covers it.
    /// </summary>
    public static TestCertificate IssuedByPrivateCa(string dnsName, string caName = "SecureMx Test CA", TestKeyType keyType = TestKeyType.EcdsaP256,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var (from, to) = Validity(notBefore, notAfter);
        var ca = CreateRoot(caName, keyType, pathLength: 0, from, to);
        return IssueLeaf(dnsName, keyType, from, to, [ca]);
    }

    /// <summary>
    /// A root CA, an intermediate CA signed by it and a leaf for <paramref name="dnsName"/> signed by the
    /// intermediate: the chain a public CA hands out, for DANE-TA at either level (RFC 7671 §5.2.2).
    /// </summary>
    public static TestCertificate IssuedThroughIntermediate(string dnsName, string rootName = "SecureMx Test Root CA",
        string intermediateName = "SecureMx Test Intermediate CA", TestKeyType keyType = TestKeyType.EcdsaP256,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, Uri? caIssuers = null)
    {
        var (from, to) = Validity(notBefore, notAfter);
        var root = CreateRoot(rootName, keyType, pathLength: 1, from.AddDays(-1), to.AddDays(1));
        using var key = NewKey(keyType);
        var request = CaRequest(intermediateName, key, pathLength: 0);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(root, from.AddDays(-1), to.AddDays(1), NewSerial());
        var intermediate = WithKey(issued, key);
        return IssueLeaf(dnsName, keyType, from, to, [intermediate, root], caIssuers);
    }

    /// <summary>The DER SubjectPublicKeyInfo of the certificate (what TLSA selector 1 selects).</summary>
    public static byte[] Spki(X509Certificate2 cert) => cert.PublicKey.ExportSubjectPublicKeyInfo();

    /// <summary>Lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo (TLSA selector 1, matching type 1).</summary>
    public static string SpkiSha256(X509Certificate2 cert) => Convert.ToHexStringLower(SHA256.HashData(Spki(cert)));

    /// <summary>
    /// The TLSA certificate association data (RFC 6698 §2.1.3) for selector 0 (whole certificate) or
    /// 1 (SubjectPublicKeyInfo) and matching type 0 (full), 1 (SHA-256) or 2 (SHA-512).
    /// </summary>
    public static byte[] TlsaData(int selector, int matchingType, X509Certificate2 cert)
    {
        byte[] selected = selector switch
        {
            0 => cert.RawData,
            1 => Spki(cert),
            _ => throw new ArgumentOutOfRangeException(nameof(selector), selector, "TLSA selector is 0 or 1"),
        };
        return matchingType switch
        {
            0 => selected,
            1 => SHA256.HashData(selected),
            2 => SHA512.HashData(selected),
            _ => throw new ArgumentOutOfRangeException(nameof(matchingType), matchingType, "TLSA matching type is 0, 1 or 2"),
        };
    }

    /// <summary>TLSA record data "U S M hex" (presentation format, lower-case hex) for usage 0-3 and any selector and matching type.</summary>
    public static string Tlsa(int usage, int selector, int matchingType, X509Certificate2 cert)
    {
        if (usage is < 0 or > 3) throw new ArgumentOutOfRangeException(nameof(usage), usage, "TLSA usage is 0 to 3");
        return $"{usage} {selector} {matchingType} {Convert.ToHexStringLower(TlsaData(selector, matchingType, cert))}";
    }

    /// <summary>The leaf's window: from a year ago to a year ahead unless given; a window given only by its end starts a day before it.</summary>
    private static (DateTimeOffset From, DateTimeOffset To) Validity(DateTimeOffset? notBefore, DateTimeOffset? notAfter)
    {
        var now = DateTimeOffset.UtcNow;
        // Valid from a year ago by default: tests that run on a fake clock set to a fixed day (TLS reports of
        // 2026-12-04) must still find the certificate valid on later real days.
        var from = notBefore ?? (notAfter is { } end && end < now ? end.AddDays(-1) : now.AddYears(-1));
        var to = notAfter ?? (from > now ? from.AddYears(1) : now.AddYears(1));
        if (to <= from) throw new ArgumentException($"the validity ends ({to:O}) before it begins ({from:O})", nameof(notAfter));
        return (from, to);
    }

    /// <summary>A self-signed CA whose validity covers [from, to] with a day to spare (X.509 times are whole seconds).</summary>
    private static X509Certificate2 CreateRoot(string name, TestKeyType keyType, int pathLength, DateTimeOffset from, DateTimeOffset to)
    {
        using var key = NewKey(keyType);
        var now = DateTimeOffset.UtcNow;
        var start = from < now.AddDays(-1) ? from.AddDays(-1) : now.AddDays(-1);
        var end = to > now.AddYears(10) ? to.AddDays(1) : now.AddYears(10);
        return CaRequest(name, key, pathLength).CreateSelfSigned(start, end);
    }

    private static CertificateRequest CaRequest(string name, AsymmetricAlgorithm key, int pathLength)
    {
        var request = NewRequest(new X500DistinguishedName("CN=" + name), key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, pathLength, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }

    /// <summary>A leaf signed by <paramref name="issuers"/>[0]; <paramref name="issuers"/> are nearest first, root last.</summary>
    private static TestCertificate IssueLeaf(string dnsName, TestKeyType keyType, DateTimeOffset from, DateTimeOffset to, X509Certificate2[] issuers,
        Uri? caIssuers = null)
    {
        var key = NewKey(keyType);
        var request = LeafRequest(dnsName, key);
        // Authority Information Access (RFC 5280 §4.2.2.1): where a verifier may fetch the issuer.
        if (caIssuers is not null) request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [caIssuers.AbsoluteUri]));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuers[0], includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(issuers[0], from, to, NewSerial());
        return new TestCertificate(WithKey(issued, key), key, issuers, dnsName);
    }

    private static CertificateRequest LeafRequest(string dnsName, AsymmetricAlgorithm key)
    {
        var request = NewRequest(new X500DistinguishedName("CN=" + dnsName), key);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        // RSA key exchange (TLS 1.0 peers) encrypts the premaster secret to the key: keyEncipherment.
        var usage = X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : 0);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }

    /// <summary>16 random bytes, positive (RFC 5280 §4.1.2.2).</summary>
    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return serial;
    }

    private static AsymmetricAlgorithm NewKey(TestKeyType type) => type switch
    {
        TestKeyType.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        TestKeyType.Rsa2048 => RSA.Create(2048),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException("unsupported key", nameof(key)),
    };

    private static X509Certificate2 WithKey(X509Certificate2 cert, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => cert.CopyWithPrivateKey(ec),
        RSA rsa => cert.CopyWithPrivateKey(rsa),
        _ => throw new ArgumentException("unsupported key", nameof(key)),
    };
}
