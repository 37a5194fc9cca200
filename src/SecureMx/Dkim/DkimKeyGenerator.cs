using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace SecureMx.Dkim;

/// <summary>A new key pair: the private key as PKCS#8 PEM (what MimeKit's DkimSigner reads), the public key as the record's p= value.</summary>
public sealed record DkimKeyPair(string PrivateKeyPem, string PublicKey);

public static class DkimKeyGenerator
{
    public static DkimKeyPair Generate(DkimAlgorithm algorithm) => algorithm switch
    {
        DkimAlgorithm.Rsa2048 => Rsa(),
        DkimAlgorithm.Ed25519 => Ed25519(),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    private static DkimKeyPair Rsa()
    {
        // 2048 bits: RFC 8301 §3.2 requires at least 1024 and recommends 2048; longer keys need TXT strings split (see DkimKeyRecord).
        using var rsa = RSA.Create(2048);
        return new DkimKeyPair(rsa.ExportPkcs8PrivateKeyPem(), Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()));
    }

    private static DkimKeyPair Ed25519()
    {
        // .NET has no Ed25519; BouncyCastle (which MimeKit already brings) does.
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded();
        var pem = PemEncoding.WriteString("PRIVATE KEY", pkcs8);
        CryptographicOperations.ZeroMemory(pkcs8);
        // RFC 8463 §4: p= is the bare 32-byte public key, not a SubjectPublicKeyInfo.
        return new DkimKeyPair(pem + "\n", Convert.ToBase64String(((Ed25519PublicKeyParameters)pair.Public).GetEncoded()));
    }
}
