using System.Security.Cryptography;
using System.Text;
using SecureMx.Store;

namespace SecureMx.Dkim;

/// <summary>
/// Private keys in a shared store: the secret table <c>dkim_private_keys</c>, each PEM sealed with
/// AES-256-GCM under DIR/dashboard-keys.key (Dashboard/DashboardKeyRingKey, handed in by the wiring) — the key file every node of a cluster already has the same
/// copy of (README, "Running several nodes"), so no second file to distribute. The store never holds what
/// decrypts it. The associated data binds a sealed key to its domain and selector: a row copied onto
/// another selector does not open.
/// </summary>
public sealed class DkimSealedKeys(StoreDatabase db, byte[] key) : DkimPrivateKeyStore
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public override void Save(string domain, string selector, string pem)
    {
        db.Execute("INSERT INTO dkim_private_keys(domain, selector, sealed) VALUES(@d, @s, @k) ON CONFLICT(domain, selector) DO UPDATE SET sealed = excluded.sealed",
            ("@d", domain), ("@s", selector), ("@k", Seal(key, domain, selector, pem)));
    }

    public override string Load(string domain, string selector)
    {
        var rows = db.Rows("SELECT sealed FROM dkim_private_keys WHERE domain=@d AND selector=@s", r => r.GetString(0), ("@d", domain), ("@s", selector));
        if (rows.Count == 0) throw new DkimKeyUnavailableException($"private key of {selector}._domainkey.{domain} is missing from the store's dkim_private_keys");
        return Open(key, domain, selector, rows[0]);
    }

    public override void Delete(string domain, string selector) =>
        db.Execute("DELETE FROM dkim_private_keys WHERE domain=@d AND selector=@s", ("@d", domain), ("@s", selector));

    internal static string Seal(byte[] key, string domain, string selector, string pem)
    {
        var plaintext = Encoding.ASCII.GetBytes(pem);
        var blob = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key, TagSize))
            aes.Encrypt(nonce, plaintext, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), AssociatedData(domain, selector));
        CryptographicOperations.ZeroMemory(plaintext);
        return Convert.ToBase64String(blob);
    }

    internal static string Open(byte[] key, string domain, string selector, string sealedText)
    {
        try
        {
            var blob = Convert.FromBase64String(sealedText);
            if (blob.Length < NonceSize + TagSize) throw new CryptographicException("too short");
            var plaintext = new byte[blob.Length - NonceSize - TagSize];
            using (var aes = new AesGcm(key, TagSize))
                aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plaintext, AssociatedData(domain, selector));
            var pem = Encoding.ASCII.GetString(plaintext);
            CryptographicOperations.ZeroMemory(plaintext);
            return pem;
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            throw new DkimKeyUnavailableException(
                $"private key of {selector}._domainkey.{domain} does not decrypt with DIR/dashboard-keys.key (every node needs the same file): {ex.Message}", ex);
        }
    }

    private static byte[] AssociatedData(string domain, string selector) => Encoding.ASCII.GetBytes($"SecureMx.Dkim private key v1 {domain} {selector}");
}
