using System.Globalization;
using MimeKit;
using MimeKit.Cryptography;
using SecureMx.Dns;

namespace SecureMx.MailAuth.Dkim;

/// <summary>
/// Verifies the DKIM-Signature fields of a received message (RFC 6376 §6) with MimeKit's
/// <see cref="DkimVerifier"/> and keys from our resolver. RSA-SHA256 and Ed25519-SHA256 (RFC 8463) are
/// accepted; RSA-SHA1 and RSA keys under 1024 bits are not (RFC 8301 §3.1, §3.2). Only the first
/// <see cref="MaxSignatures"/> signatures are checked: a message with a hundred signatures costs no more than five.
/// </summary>
public sealed class DkimMessageVerifier
{
    /// <summary>Signatures checked per message; later ones are reported as not checked (neutral) in the log only.</summary>
    public const int MaxSignatures = 5;

    private readonly DkimVerifier _verifier;
    private readonly TimeProvider _time;

    public DkimMessageVerifier(IDnsRecordLookup dns, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _verifier = new DkimVerifier(new DnsDkimKeyLocator(dns)) { MinimumRsaKeyLength = 1024 };
        _verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        _verifier.Disable(DkimSignatureAlgorithm.RsaSha1);
    }

    /// <summary>The result of each checked signature, in header order; empty when the message has none.</summary>
    public async Task<IReadOnlyList<DkimSignatureResult>> VerifyAsync(MimeMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var results = new List<DkimSignatureResult>();
        foreach (var header in message.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(MaxSignatures))
        {
            results.Add(await VerifyOneAsync(message, header, cancellationToken).ConfigureAwait(false));
        }
        return results;
    }

    /// <summary>How many DKIM-Signature fields the message has in all (those past <see cref="MaxSignatures"/> go unchecked).</summary>
    public static int CountSignatures(MimeMessage message) => message.Headers.Count(h => h.Id == HeaderId.DkimSignature);

    private async Task<DkimSignatureResult> VerifyOneAsync(MimeMessage message, Header header, CancellationToken ct)
    {
        var tags = DkimKeyRecord.Parse(header.Value);
        var d = tags.GetValueOrDefault("d");
        var s = tags.GetValueOrDefault("s");
        if (string.IsNullOrEmpty(d) || string.IsNullOrEmpty(s)) return new DkimSignatureResult(DkimResult.Neutral, d, s, "the signature has no d= or s=");
        if (tags.GetValueOrDefault("a") is "rsa-sha1") return new DkimSignatureResult(DkimResult.Fail, d, s, "rsa-sha1 is not accepted (RFC 8301)");
        // §3.5 x=: a signature past its expiry time does not verify.
        if (tags.TryGetValue("x", out var x) && long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var expiry) &&
            _time.GetUtcNow().ToUnixTimeSeconds() > expiry)
        {
            return new DkimSignatureResult(DkimResult.Fail, d, s, "the signature has expired (x=)");
        }
        try
        {
            return await _verifier.VerifyAsync(message, header, ct).ConfigureAwait(false)
                ? new DkimSignatureResult(DkimResult.Pass, d, s)
                : new DkimSignatureResult(DkimResult.Fail, d, s, "the body hash or the signature does not verify, or the key is too weak");
        }
        catch (DkimKeyException e)
        {
            return new DkimSignatureResult(e.Result, d, s, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return new DkimSignatureResult(DkimResult.TempError, d, s, "the time for DNS lookups ran out");
        }
        catch (FormatException e)
        {
            return new DkimSignatureResult(DkimResult.Neutral, d, s, "malformed signature: " + e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Hostile input must never take the session down: whatever MimeKit or BouncyCastle throws is this signature's error.
            return new DkimSignatureResult(DkimResult.PermError, d, s, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
