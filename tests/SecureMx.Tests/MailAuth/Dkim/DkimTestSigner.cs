using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace SecureMx.Tests.MailAuth.Dkim;

/// <summary>
/// Signs test messages the way another domain's signer would, with MimeKit and keys made once per run, and gives the
/// DNS key records to verify them by (RFC 6376 §3.6.1, RFC 8463 §4.2). Not SecureMx's own keys: those are
/// <see cref="SecureMx.Tests.TestSupport.DkimTestKeys"/>.
/// </summary>
public static class DkimTestSigner
{
    public static readonly Lazy<AsymmetricCipherKeyPair> Rsa = new(() =>
    {
        var g = new RsaKeyPairGenerator();
        g.Init(new KeyGenerationParameters(new SecureRandom(), 2048));
        return g.GenerateKeyPair();
    });

    public static readonly Lazy<AsymmetricCipherKeyPair> Ed25519 = new(() =>
    {
        var g = new Ed25519KeyPairGenerator();
        g.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        return g.GenerateKeyPair();
    });

    public static string RsaRecord => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(Rsa.Value.Public).GetEncoded());

    public static string Ed25519Record => "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(((Ed25519PublicKeyParameters)Ed25519.Value.Public).GetEncoded());

    public static MimeMessage Message(string from = "alice@sender.example", string body = "Hello,\r\nthis is a test.\r\n")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse("bob@receiver.example"));
        message.Subject = "test";
        message.Date = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);
        message.MessageId = "test@sender.example";
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    public static void Sign(MimeMessage message, string domain, string selector, bool ed25519 = false)
    {
        var key = ed25519 ? Ed25519.Value.Private : Rsa.Value.Private;
        var signer = new DkimSigner(key, domain, selector, ed25519 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        message.Prepare(EncodingConstraint.SevenBit);
        signer.Sign(message, [HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId]);
    }

    /// <summary>The message as bytes and read back the way the server reads the spool: persistent, the body left in the stream.</summary>
    public static MimeMessage Reparse(MimeMessage message, Func<string, string>? tamper = null)
    {
        using var ms = new MemoryStream();
        message.WriteTo(FormatOptions.Default, ms);
        var text = System.Text.Encoding.ASCII.GetString(ms.ToArray());
        if (tamper is not null) text = tamper(text);
        return MimeMessage.Load(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text)), persistent: true);
    }
}
