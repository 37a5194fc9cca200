using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.Tls;

/// <summary>
/// The "next" key of the "current + next" TLSA rollover (RFC 7671 §8.1): a private key kept in the
/// instance's tls/ directory before any certificate is served with it, so that its TLSA 3 1 1 record
/// can be published next to the current one for at least twice the TTL before the switch. This is
/// the reading side (the dashboard and <c>dns-records</c> use it); the CLI writes the files.
/// </summary>
public static class NextTlsKey
{
    /// <summary>The next private key (PKCS#8 PEM, mode 0600), relative to the data directory.</summary>
    public const string KeyFile = "tls/next-key.pem";

    /// <summary>A certificate signing request for the next key (PEM), for a CA or <c>certbot certonly --csr</c>.</summary>
    public const string CsrFile = "tls/next-key.csr";

    public static string KeyPath(string dataDirectory) => Path.Combine(dataDirectory, KeyFile);

    public static string CsrPath(string dataDirectory) => Path.Combine(dataDirectory, CsrFile);

    /// <summary>
    /// The SubjectPublicKeyInfo of the next key; null when there is none. A file that is not a readable
    /// RSA or ECDSA private key throws <see cref="CryptographicException"/> (or the I/O error).
    /// </summary>
    public static byte[]? TryReadSpki(string dataDirectory)
    {
        var path = KeyPath(dataDirectory);
        if (!File.Exists(path)) return null;
        using var key = LoadPrivateKey(File.ReadAllText(path));
        return key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>An RSA or ECDSA private key from PEM (PKCS#8, or the traditional RSA/EC forms).</summary>
    public static AsymmetricAlgorithm LoadPrivateKey(string pem)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return rsa;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
        }
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            ec.Dispose();
            throw new CryptographicException("not an unencrypted RSA or ECDSA private key in PEM form", ex);
        }
    }

    /// <summary>The certificate's SubjectPublicKeyInfo (what selector 1 hashes).</summary>
    public static byte[] Spki(X509Certificate2 certificate) => certificate.PublicKey.ExportSubjectPublicKeyInfo();

    /// <summary>
    /// A DANE-EE record over the public key (usage 3, selector 1) matches <paramref name="spki"/>: the
    /// only records a key without a certificate can be judged against (RFC 7671 §5.1).
    /// </summary>
    public static bool Matches(TlsaRecordData record, ReadOnlySpan<byte> spki) =>
        record.Usage == 3 && record.Selector == 1 && TlsaMatcher.MatchesSelected(record, spki);
}
