using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureMx.TestKit;

/// <summary>
/// A server certificate for tests: a leaf for one DNS name, self-signed or issued by a private CA
/// (directly or through an intermediate), with the DANE TLSA data that matches it (RFC 6698, 7671, 7672).
/// </summary>
public sealed class TestCertificate : IDisposable
{
    internal TestCertificate(X509Certificate2 leaf, AsymmetricAlgorithm leafKey, IReadOnlyList<X509Certificate2> issuers, string dnsName)
    {
        Leaf = leaf;
        LeafKey = leafKey;
        Issuers = issuers;
        DnsName = dnsName;
    }

    /// <summary>The server certificate, with its private key.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>The leaf's private key (ECDsa or RSA).</summary>
    public AsymmetricAlgorithm LeafKey { get; }

    /// <summary>The certificates above the leaf, nearest first (the intermediate, then the root CA); empty for a self-signed leaf.</summary>
    public IReadOnlyList<X509Certificate2> Issuers { get; }

    /// <summary>The private root CA (the trust anchor), or null for a self-signed leaf.</summary>
    public X509Certificate2? Ca => Issuers.Count > 0 ? Issuers[^1] : null;

    /// <summary>The intermediate CA between the root and the leaf, or null if there is none.</summary>
    public X509Certificate2? Intermediate => Issuers.Count > 1 ? Issuers[0] : null;

    /// <summary>The DNS name in the leaf's subjectAltName (and CN).</summary>
    public string DnsName { get; }

    /// <summary>Lower-case hex SHA-256 of the leaf's DER SubjectPublicKeyInfo.</summary>
    public string LeafSpkiSha256 => TestCertificates.SpkiSha256(Leaf);

    /// <summary>Lower-case hex SHA-256 of the root CA's DER SubjectPublicKeyInfo (null if self-signed).</summary>
    public string? CaSpkiSha256 => Ca is null ? null : TestCertificates.SpkiSha256(Ca);

    /// <summary>TLSA data "3 1 1 &lt;sha256 of the leaf SPKI&gt;" (DANE-EE, SPKI, SHA-256).</summary>
    public string TlsaDaneEe => TestCertificates.Tlsa(3, 1, 1, Leaf);

    /// <summary>TLSA data "2 1 1 &lt;sha256 of the root CA SPKI&gt;" (DANE-TA, SPKI, SHA-256); throws for a self-signed leaf.</summary>
    public string TlsaDaneTa => Ca is null
        ? throw new InvalidOperationException($"the certificate for {DnsName} is self-signed: no DANE-TA record")
        : TestCertificates.Tlsa(2, 1, 1, Ca);

    /// <summary>The leaf followed by its issuers, PEM. The root is included: a DANE-TA "2 1 1" anchor must be sent (RFC 7671 §5.2.2).</summary>
    public string ChainPem
    {
        get
        {
            var sb = new StringBuilder(Leaf.ExportCertificatePem()).Append('\n');
            foreach (var issuer in Issuers) sb.Append(issuer.ExportCertificatePem()).Append('\n');
            return sb.ToString();
        }
    }

    /// <summary>The leaf's private key, PKCS#8 PEM.</summary>
    public string KeyPem => LeafKey.ExportPkcs8PrivateKeyPem() + "\n";

    /// <summary>
    /// Writes DIR/NAME.pem (leaf and issuers), DIR/NAME.key (created with mode 0600, so the key is
    /// never readable by others, not even for a moment) and, with a private CA, DIR/NAME-ca.pem.
    /// Creates DIR if needed.
    /// </summary>
    public TestCertificateFiles WritePem(string dir, string name = "server")
    {
        Directory.CreateDirectory(dir);
        var cert = Path.Combine(dir, name + ".pem");
        var key = Path.Combine(dir, name + ".key");
        File.WriteAllText(cert, ChainPem);
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(key, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = owner }))
        {
            stream.Write(Encoding.ASCII.GetBytes(KeyPem));
        }
        File.SetUnixFileMode(key, owner); // an existing file keeps its mode on FileMode.Create
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
        foreach (var issuer in Issuers) issuer.Dispose();
    }
}
