using MimeKit;
using MimeKit.Cryptography;

namespace SecureMx.Dkim;

/// <summary>
/// Signs a parsed message with MimeKit's <see cref="DkimSigner"/> (RSA-SHA256 and, through BouncyCastle,
/// Ed25519-SHA256 per RFC 8463), <c>c=relaxed/relaxed</c>, the headers of <see cref="DkimHeaderList"/>,
/// <c>t=</c> from the instance's clock. The message must afterwards be written with <see cref="WriteOptions"/>:
/// the bytes the signature covers.
/// </summary>
public static class DkimMessageSigner
{
    /// <summary>How a signed message is written: CRLF and a final line end, as the signer hashed it.</summary>
    public static FormatOptions WriteOptions { get; } = CreateWriteOptions();

    private static FormatOptions CreateWriteOptions()
    {
        var o = FormatOptions.Default.Clone();
        o.NewLineFormat = NewLineFormat.Dos;
        o.EnsureNewLine = true;
        return o;
    }

    /// <summary>Adds one DKIM-Signature per key (the last one ends up first in the header); returns "d=… s=… a=…" of each.</summary>
    public static List<string> Sign(MimeMessage message, IEnumerable<(DkimKey Key, string PrivateKeyPem)> keys, TimeProvider time)
    {
        var done = new List<string>();
        foreach (var (key, pem) in keys)
        {
            ClockedDkimSigner signer;
            try
            {
                using var pemStream = new MemoryStream(System.Text.Encoding.ASCII.GetBytes(pem));
                signer = new ClockedDkimSigner(pemStream, key, time);
            }
            catch (Exception ex) when (ex is FormatException or IOException or InvalidCastException or ArgumentException)
            {
                throw new DkimKeyUnavailableException($"private key of {key.RecordName} is not a usable {key.Algorithm.Name()} key: {ex.Message}", ex);
            }
            signer.Sign(WriteOptions, message, DkimHeaderList.For(message));
            done.Add($"d={key.Domain} s={key.Selector} a={key.Algorithm.SignatureTag()}");
        }
        return done;
    }

    /// <summary>MimeKit's signer with t= from a <see cref="TimeProvider"/> instead of the system clock.</summary>
    private sealed class ClockedDkimSigner : DkimSigner
    {
        private readonly TimeProvider _time;

        public ClockedDkimSigner(Stream pem, DkimKey key, TimeProvider time)
            : base(pem, key.Domain, key.Selector, key.Algorithm == DkimAlgorithm.Ed25519 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
        {
            _time = time;
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        }

        protected override long GetTimestamp() => _time.GetUtcNow().ToUnixTimeSeconds();
    }
}
