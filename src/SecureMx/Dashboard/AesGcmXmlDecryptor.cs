using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;

namespace SecureMx.Dashboard;

/// <summary>
/// Decrypts what <see cref="AesGcmXmlEncryptor"/> wrote. The framework creates it by type name from the key
/// file's XML, passing the service provider, which holds the instance's <see cref="DashboardKeyRingKey"/>.
/// </summary>
public sealed class AesGcmXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    private readonly DashboardKeyRingKey _key = services.GetRequiredService<DashboardKeyRingKey>();

    public XElement Decrypt(XElement encryptedElement) => Decrypt(encryptedElement, _key);

    /// <summary>The element <see cref="AesGcmXmlEncryptor"/> wrote, decrypted under <paramref name="key"/>; a wrong key throws.</summary>
    internal static XElement Decrypt(XElement encryptedElement, DashboardKeyRingKey key)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        var nonce = Convert.FromBase64String(Required(encryptedElement, "nonce"));
        var tag = Convert.FromBase64String(Required(encryptedElement, "tag"));
        var ciphertext = Convert.FromBase64String(Required(encryptedElement, "value"));
        var plaintext = new byte[ciphertext.Length];
        try
        {
            // A wrong key file or a changed byte fails the tag check (AuthenticationTagMismatchException).
            using (var aes = new AesGcm(key.Key, AesGcmXmlEncryptor.TagSize)) aes.Decrypt(nonce, ciphertext, tag, plaintext, AesGcmXmlEncryptor.AssociatedData);
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static string Required(XElement element, string name) =>
        element.Element(name)?.Value ?? throw new CryptographicException($"encrypted key element without <{name}>");
}
