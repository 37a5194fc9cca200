using MimeKit;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Dkim;

/// <summary>A message signed at submission: the new spool file that holds it, its mail parameters (7-bit after a conversion), and the signatures.</summary>
public sealed record SignedMessage(SpoolFile File, MailParameters Parameters, IReadOnlyList<string> Signatures);

/// <summary>
/// Signs mail of the instance's own senders before it is queued (submission with AUTH, `securemx sendmail`;
/// never mail that arrives on the MX), so every delivery attempt sends the same signed bytes. The From:
/// domain chooses the keys: every active key of that domain signs (RSA and Ed25519 side by side, RFC 8463
/// §5 — a verifier that knows only one kind still finds a signature it can check). No active key: the
/// message is left as it is.
/// <para>
/// The message is parsed from the spool (a spilled one straight from its file: MimeKit keeps the parts on
/// disk and the body hash is streamed) and written anew into a second spool file, signatures first. 8-bit
/// content is converted to 7-bit MIME first (RFC 6152; MimeKit's Prepare): delivery would otherwise convert
/// it for a server without 8BITMIME after signing and break the body hash. Mail with SMTPUTF8 stays 8-bit
/// (such a message only goes to servers that take 8-bit).
/// </para>
/// Faults: a key that cannot be read, a store that cannot be reached, a message MimeKit cannot take —
/// <see cref="DkimSigningException"/>, and the caller refuses with a temporary error (as OpenDKIM's
/// default <c>On-InternalError tempfail</c>): sending the domain's mail unsigned could make it fail its
/// DMARC policy at every receiver, and the sender still holds it.
/// </summary>
public sealed class SubmissionSigner(DkimKeyRepository keys, DkimPrivateKeyStore secrets, TimeProvider time)
{
    /// <summary>
    /// Signs the message in <paramref name="file"/> when its From: domain has active keys; null when it needs
    /// no signature (the caller keeps the original file). On success the caller owns the returned file and
    /// disposes the original. A storage failure of the new file is in its <see cref="SpoolFile.Failure"/>,
    /// for the acceptor to report as for any message.
    /// </summary>
    public async Task<SignedMessage?> SignAsync(MessageAcceptor acceptor, SpoolFile file, MailParameters parameters, CancellationToken ct)
    {
        Stream? input;
        try
        {
            input = await file.OpenReadAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DurableStepException)
        {
            throw new DkimSigningException($"the message cannot be read back from the spool for signing: {ex.Message}", ex);
        }
        if (input is null) return null; // failed or too big: the acceptor answers that
        await using var _ = input.ConfigureAwait(false);
        MimeMessage message;
        string? domain = null;
        List<(DkimKey, string)> withPrivate;
        try
        {
            // The header section first: most mail of most domains needs no signature, and then the body is never parsed.
            domain = FromDomain(await HeaderList.LoadAsync(input, ct).ConfigureAwait(false));
            if (domain is null) return null;
            var active = keys.Active(domain);
            if (active.Count == 0) return null;
            withPrivate = active.Select(k => (k, secrets.Load(k.Domain, k.Selector))).ToList();
            input.Position = 0;
            // persistent: the parts stay in the spool file (a 50 MB message is not read into memory).
            message = await MimeMessage.LoadAsync(input, persistent: true, ct).ConfigureAwait(false);
        }
        catch (FormatException)
        {
            return null; // not a message MimeKit can parse (no header at all): nothing to sign for
        }
        catch (IOException ex)
        {
            throw new DkimSigningException($"the message cannot be read back from the spool for signing: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is DkimKeyUnavailableException || StoreUnavailable.Is(ex))
        {
            throw new DkimSigningException($"DKIM keys of {domain} cannot be read: {ex.Message}", ex);
        }
        using (message)
        {

            var result = parameters;
            if (parameters.Body == BodyType.EightBitMime && !parameters.SmtpUtf8)
            {
                message.Prepare(EncodingConstraint.SevenBit);
                result = parameters with { Body = BodyType.SevenBit };
            }
            List<string> signatures;
            try
            {
                signatures = DkimMessageSigner.Sign(message, withPrivate, time);
            }
            catch (DkimKeyUnavailableException ex)
            {
                throw new DkimSigningException(ex.Message, ex);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or Org.BouncyCastle.Crypto.CryptoException)
            {
                throw new DkimSigningException($"signing for {domain} failed: {ex.Message}", ex);
            }
            // No size limit on the copy: the original passed it, and the signatures add a few hundred octets.
            var signed = acceptor.Open(0);
            try
            {
                await message.WriteToAsync(DkimMessageSigner.WriteOptions, new SpoolFileStream(signed), ct).ConfigureAwait(false);
            }
            catch
            {
                await signed.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return new SignedMessage(signed, result, signatures);
        }
    }

    /// <summary>
    /// Signs a message SecureMx wrote itself and holds in memory (a TLS report, RFC 8460 §5.3: it MUST carry a
    /// DKIM signature of its From: domain) with the active keys of its From: domain; null when that domain has
    /// none. No 7-bit conversion: such mail is 7-bit already. <see cref="DkimSigningException"/> as
    /// <see cref="SignAsync"/>.
    /// </summary>
    public byte[]? SignBytes(byte[] content)
    {
        using var input = new MemoryStream(content, writable: false);
        string? domain = null;
        MimeMessage message;
        List<(DkimKey, string)> withPrivate;
        try
        {
            domain = FromDomain(HeaderList.Load(input));
            if (domain is null) return null;
            var active = keys.Active(domain);
            if (active.Count == 0) return null;
            withPrivate = active.Select(k => (k, secrets.Load(k.Domain, k.Selector))).ToList();
            input.Position = 0;
            message = MimeMessage.Load(input);
        }
        catch (FormatException)
        {
            return null;
        }
        catch (Exception ex) when (ex is DkimKeyUnavailableException || StoreUnavailable.Is(ex))
        {
            throw new DkimSigningException($"DKIM keys of {domain} cannot be read: {ex.Message}", ex);
        }
        using (message)
        {
            try
            {
                DkimMessageSigner.Sign(message, withPrivate, time);
            }
            catch (DkimKeyUnavailableException ex)
            {
                throw new DkimSigningException(ex.Message, ex);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or Org.BouncyCastle.Crypto.CryptoException)
            {
                throw new DkimSigningException($"signing for {domain} failed: {ex.Message}", ex);
            }
            using var output = new MemoryStream();
            message.WriteTo(DkimMessageSigner.WriteOptions, output);
            return output.ToArray();
        }
    }

    /// <summary>
    /// <see cref="SignBytes"/> for mail SecureMx writes itself, where a key that cannot be used must not cost the
    /// mail: <paramref name="report"/> hears why (<paramref name="what"/> names the mail) and the mail goes out
    /// unsigned (null).
    /// </summary>
    public Func<byte[], byte[]?> SignOrReport(string what, Action<string> report) => content =>
    {
        try
        {
            return SignBytes(content);
        }
        catch (DkimSigningException ex)
        {
            report($"{what} goes out without a DKIM signature: {ex.Message}");
            return null;
        }
    };

    /// <summary>The A-label domain of the first mailbox of the first From: field (RFC 5322 §3.6.2: the author), or null.</summary>
    internal static string? FromDomain(HeaderList headers)
    {
        var field = headers.FirstOrDefault(h => h.Id == HeaderId.From);
        if (field is null || !InternetAddressList.TryParse(ParserOptions.Default, field.RawValue, out var list)) return null;
        var from = list.Mailboxes.FirstOrDefault();
        if (from is null || string.IsNullOrEmpty(from.Domain)) return null;
        return EnvelopeAddress.NormalizeDomain(from.Domain);
    }
}
