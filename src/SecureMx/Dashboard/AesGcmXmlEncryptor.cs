using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace SecureMx.Dashboard;

/// <summary>
/// Encrypts each data-protection key element with AES-256-GCM under the instance's key-ring key before it is
/// written to DIR/dashboard-keys (the framework would otherwise store the master key in plain text).
/// </summary>
public sealed class AesGcmXmlEncryptor(DashboardKeyRingKey key) : IXmlEncryptor
{
    /// <summary>Binds the ciphertext to its purpose: a blob copied from elsewhere does not decrypt here.</summary>
    internal static readonly byte[] AssociatedData = Encoding.ASCII.GetBytes("SecureMx.Dashboard key ring v1");
    internal const int NonceSize = 12;
    internal const int TagSize = 16;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagSize];
        using (var aes = new AesGcm(key.Key, TagSize)) aes.Encrypt(nonce, plaintext, ciphertext, tag, AssociatedData);
        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement("aesGcmEncryptedKey",
            new XComment(" the master key, encrypted with DIR/dashboard-keys.key "),
            new XElement("nonce", Convert.ToBase64String(nonce)),
            new XElement("tag", Convert.ToBase64String(tag)),
            new XElement("value", Convert.ToBase64String(ciphertext)));
        return new EncryptedXmlInfo(element, typeof(AesGcmXmlDecryptor));
    }
}
