using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using SecureMx.Dns;

namespace SecureMx.MailAuth.Dkim;

/// <summary>
/// Fetches DKIM public keys for MimeKit's <see cref="DkimVerifier"/> from the TXT record at
/// SELECTOR._domainkey.DOMAIN (RFC 6376 §3.6.2.1) through our resolver. A DNS failure is a
/// <see cref="DkimKeyException"/> with <see cref="DkimResult.TempError"/>; a missing, revoked (empty
/// p=, §3.6.1) or unreadable key one with <see cref="DkimResult.PermError"/>.
/// </summary>
public sealed class DnsDkimKeyLocator(IDnsRecordLookup dns) : DkimPublicKeyLocatorBase
{
    /// <inheritdoc />
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("DKIM keys are only looked up asynchronously");

    /// <inheritdoc />
    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        var name = $"{selector}._domainkey.{domain}";
        // §3.6.2.1: "dns/txt" is the only query method; a signature that names no other is fine.
        if (!methods.Split(':').Any(m => m.Trim().Equals("dns/txt", StringComparison.OrdinalIgnoreCase) || m.Trim().Equals("dns", StringComparison.OrdinalIgnoreCase)))
        {
            throw new DkimKeyException(DkimResult.PermError, $"q={methods}: no query method we know");
        }
        var txt = await dns.TxtAsync(name, cancellationToken).ConfigureAwait(false);
        if (txt.Status == DnsLookupStatus.Failure) throw new DkimKeyException(DkimResult.TempError, $"key lookup {name} failed: {txt.Reason}");
        if (txt.Records.Count == 0) throw new DkimKeyException(DkimResult.PermError, $"no key at {name}");
        string? problem = null;
        foreach (var record in txt.Records)
        {
            var tags = DkimKeyRecord.Parse(record);
            if (tags.TryGetValue("v", out var v) && v != "DKIM1") { problem = $"key record at {name} has v={v}"; continue; }
            if (tags.TryGetValue("p", out var p) && p.Length == 0) { problem = $"the key at {name} is revoked (empty p=)"; continue; }
            try
            {
                return GetPublicKey(record);
            }
            catch (Exception e) when (e is MimeKit.ParseException or FormatException or ArgumentException or IOException or InvalidCastException)
            {
                problem = $"key record at {name} cannot be read: {e.Message}";
            }
        }
        throw new DkimKeyException(DkimResult.PermError, problem ?? $"no usable key at {name}");
    }
}

/// <summary>Why a DKIM key could not be had, and the result that follows.</summary>
public sealed class DkimKeyException(DkimResult result, string message) : Exception(message)
{
    public DkimResult Result { get; } = result;
}
