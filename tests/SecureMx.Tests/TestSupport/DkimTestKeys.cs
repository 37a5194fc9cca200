using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using SecureMx.Dkim;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// DKIM keys made in the test: the private halves in memory (a <see cref="DkimPrivateKeyStore"/>), the public
/// ones served to MimeKit's <see cref="DkimVerifier"/> from the TXT record text SecureMx would publish — so a
/// verification also checks the record.
/// </summary>
public sealed class DkimTestKeys : DkimPrivateKeyStore
{
    private readonly Dictionary<(string, string), string> _private = [];
    private readonly Dictionary<(string, string), string> _records = [];

    public DkimKey Make(string domain, string selector, DkimAlgorithm algorithm, DkimKeyState state = DkimKeyState.Active)
    {
        var pair = DkimKeyGenerator.Generate(algorithm);
        var key = new DkimKey(domain, selector, algorithm, state, DateTimeOffset.UnixEpoch, pair.PublicKey);
        _private[(domain, selector)] = pair.PrivateKeyPem;
        _records[(domain, selector)] = DkimKeyRecord.Text(key);
        return key;
    }

    public override void Save(string domain, string selector, string pem) => _private[(domain, selector)] = pem;

    public override string Load(string domain, string selector) =>
        _private.TryGetValue((domain, selector), out var pem) ? pem : throw new DkimKeyUnavailableException($"no key {selector}/{domain} in the test");

    public override void Delete(string domain, string selector) => _private.Remove((domain, selector));

    /// <summary>Verifies every DKIM-Signature of <paramref name="message"/>; the results top to bottom.</summary>
    public List<bool> Verify(MimeMessage message)
    {
        var verifier = new DkimVerifier(new Locator(_records));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return message.Headers.Where(h => h.Id == HeaderId.DkimSignature).Select(h => verifier.Verify(options, message, h)).ToList();
    }

    public List<bool> Verify(byte[] message)
    {
        using var m = MimeMessage.Load(new MemoryStream(message));
        return Verify(m);
    }

    private sealed class Locator(Dictionary<(string, string), string> records) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            records.TryGetValue((domain, selector), out var txt) ? GetPublicKey(txt) : throw new InvalidOperationException($"no record {selector}._domainkey.{domain}");

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
