using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.Tls;

/// <summary>Creates the self-signed certificate of a new instance and loads PEM pairs.</summary>
public static class CertificateFactory
{
    /// <summary>RSA 2048 for the widest client compatibility on an opportunistic MX; valid 2 years.</summary>
    /// <param name="otherName">A second DNS name (the secure MX host), when it differs.</param>
    public static (string CertPem, string KeyPem) CreateSelfSigned(string hostname, TimeProvider time, string? otherName = null)
    {
        using var key = RSA.Create(2048);
        string[] names = otherName is not null && otherName != hostname ? [hostname, otherName] : [hostname];
        using var cert = SelfSign(ServerRequest(key, names), time);
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A self-signed certificate from <paramref name="request"/>: valid from yesterday for 2 years.</summary>
    public static X509Certificate2 SelfSign(CertificateRequest request, TimeProvider time)
    {
        var now = time.GetUtcNow();
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
    }

    /// <summary>
    /// The request for a TLS server certificate for <paramref name="names"/> (the first is the CN) with an
    /// RSA or ECDSA <paramref name="key"/>: self-signed at init and rollover, or a CSR for a CA.
    /// </summary>
    public static CertificateRequest ServerRequest(AsymmetricAlgorithm key, IReadOnlyList<string> names)
    {
        var subject = $"CN={names[0]}";
        var request = key is RSA rsa
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names) san.AddDnsName(n);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        // RSA key exchange (TLS 1.2 without ECDHE) needs KeyEncipherment; an ECDSA key only signs.
        var usage = key is RSA ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request;
    }

    /// <summary>Loads a PEM certificate (leaf first, then intermediates) and its private key.</summary>
    public static SslStreamCertificateContextHolder Load(string certFile, string keyFile)
    {
        using var leafWithKey = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        // Re-import through PKCS#12: OpenSSL needs a persisted key handle for server use.
        var leaf = X509CertificateLoader.LoadPkcs12(leafWithKey.Export(X509ContentType.Pkcs12), null);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certFile);
        var intermediates = new X509Certificate2Collection();
        foreach (var c in all)
        {
            if (c.Thumbprint != leaf.Thumbprint) intermediates.Add(c);
        }
        return new SslStreamCertificateContextHolder(leaf, System.Net.Security.SslStreamCertificateContext.Create(leaf, intermediates, offline: true), ChainDigest(all));
    }

    /// <summary>SHA-256 over every certificate of the file in its order: a changed or added intermediate is a different chain.</summary>
    private static string ChainDigest(X509Certificate2Collection chain)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var c in chain)
        {
            sha.AppendData(BitConverter.GetBytes(c.RawData.Length));
            sha.AppendData(c.RawData);
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}

/// <summary>The loaded server certificate, the context SslStream uses for it, and the digest of the whole chain as the file holds it.</summary>
public sealed record SslStreamCertificateContextHolder(X509Certificate2 Certificate, System.Net.Security.SslStreamCertificateContext Context, string Chain = "")
{
    /// <summary>Releases the certificates of a pair that is not used (never one a session may hold).</summary>
    public void DisposeUnused()
    {
        foreach (var c in Context.IntermediateCertificates) c.Dispose();
        if (!ReferenceEquals(Context.TargetCertificate, Certificate)) Context.TargetCertificate.Dispose();
        Certificate.Dispose();
    }
}
