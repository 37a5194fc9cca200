using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.Tests.TestSupport;

/// <summary>Certificates for DANE tests, made in process: self-signed leaves, and a private CA with an intermediate.</summary>
public static class TestPki
{
    public static X509Certificate2 SelfSigned(string name, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = Request(name, key);
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-2), notAfter ?? now.AddYears(1));
    }

    public static (X509Certificate2 Root, X509Certificate2 Intermediate, X509Certificate2 Leaf) Chain(string leafName)
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=Test Root CA", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
        var root = rootRequest.CreateSelfSigned(now.AddDays(-2), now.AddYears(5));

        using var intKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intRequest = new CertificateRequest("CN=Test Intermediate CA", intKey, HashAlgorithmName.SHA256);
        intRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        intRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        intRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(intRequest.PublicKey, false));
        intRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var intPublic = intRequest.Create(root, now.AddDays(-1), now.AddYears(4), [1, 2, 3, 4]);
        var intermediate = intPublic.CopyWithPrivateKey(intKey);

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = Request(leafName, leafKey);
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(intermediate, true, false));
        using var leafPublic = leafRequest.Create(intermediate, now.AddDays(-1), now.AddYears(1), [5, 6, 7, 8]);
        var leaf = leafPublic.CopyWithPrivateKey(leafKey);
        return (root, intermediate, leaf);
    }

    private static CertificateRequest Request(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request;
    }

    public static byte[] Spki(X509Certificate2 c) => c.PublicKey.ExportSubjectPublicKeyInfo();
}
