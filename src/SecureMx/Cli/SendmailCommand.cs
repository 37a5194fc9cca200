using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Dkim;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx sendmail [-f FROM] RCPT… &lt; message: injection for local programs (cron, scripts), as
/// Postfix's sendmail does. The message is read from stdin to its end (like sendmail -i: a lone "."
/// does not end it), LF line endings become CRLF, and it is queued durably; a running server
/// delivers it within seconds.
/// </summary>
public static class SendmailCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var from = new Option<string?>("-f") { Description = "envelope sender (default: postmaster@HOSTNAME); -f '' sends with the null sender", HelpName = "FROM" };
        var recipients = new Argument<string[]>("RCPT") { Arity = ArgumentArity.OneOrMore, Description = "recipient addresses" };
        var ignoreDots = new Option<bool>("-i") { Description = "accepted for compatibility: a lone \".\" never ends the message here" };
        var cmd = new Command("sendmail", "queue a message from standard input for the given recipients") { recipients, from, ignoreDots, data };
        cmd.SetAction(async p =>
        {
            var dir = CliOptions.RequireData(p.GetValue(data)!);
            InstanceOwner.DropTo(dir); // what it spools belongs to the instance's user
            var options = CliOptions.LoadConfig(dir);
            // The same routing as SMTP RCPT: exact mailbox or alias, subaddress, postmaster of a hosted domain.
            var store = CliOptions.OpenStore(dir);
            CliNodeNumber.Use(store, options);
            var router = RecipientRouter.For(new MailboxRepository(store, TimeProvider.System), options);
            var sender = p.GetValue(from) ?? "postmaster@" + options.Hostname;
            if (sender.Length > 0 && SmtpAddressParser.TryParseMailbox(sender, allowUtf8: true, out _) != SmtpAddressParser.Error.None)
                throw new CliException($"-f: '{sender}' is not a valid address");
            var targets = new List<EnvelopeRecipient>();
            foreach (var text in p.GetValue(recipients)!)
            {
                if (SmtpAddressParser.TryParseMailbox(text.Trim(), allowUtf8: true, out var rcpt) != SmtpAddressParser.Error.None)
                    throw new CliException($"'{text}' is not a valid recipient address");
                var route = router.Route(rcpt);
                if (route.Kind == RecipientKind.UnknownUser) throw new CliException($"{rcpt.LookupKey}: no such mailbox or alias on this server");
                if (!route.IsLocal) targets.Add(new EnvelopeRecipient(rcpt.ToString(), rcpt.ToString(), RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null));
                else targets.AddRange(route.Targets.Select(l => new EnvelopeRecipient(l.Address, rcpt.ToString(), RecipientRoute.Local, l.Maildir, DsnNotify.Unspecified, null, null)));
            }

            using var spool = new MessageSpool(Path.Combine(dir, "spool"), TimeProvider.System, NullLogger.Instance);
            var acceptor = new MessageAcceptor(spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
            // Local programs send as the instance's own domains: their mail is DKIM-signed like submitted mail.
            var signer = new SubmissionSigner(new DkimKeyRepository(store, TimeProvider.System), DkimPrivateKeyStore.For(store, SecureMx.Dashboard.DashboardKeyRingKey.Reader(store.DataDirectory)), TimeProvider.System);
            var id = await QueueAsync(acceptor, Console.OpenStandardInput(), sender, targets, options.Limits.MaxMessageSize, signer);
            Console.WriteLine($"queued as {id}");
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Spools the message read from <paramref name="input"/>; returns its queue id. A message that is too
    /// big or cannot be stored is a <see cref="CliException"/> (exit 1), and nothing of it stays queued.
    /// </summary>
    internal static async Task<string> QueueAsync(MessageAcceptor acceptor, Stream input, string sender, List<EnvelopeRecipient> targets, long maxSize, SubmissionSigner? signer = null)
    {
        var file = acceptor.Open(maxSize);
        await using var original = file;
        bool eightBit = await CopyWithCrLfAsync(input, file);
        var utf8 = !System.Text.Ascii.IsValid(sender) || targets.Any(t => !System.Text.Ascii.IsValid(t.Address));
        var parameters = new MailParameters(null, eightBit ? BodyType.EightBitMime : BodyType.SevenBit, utf8, DsnReturn.Unspecified, null);
        if (signer is not null && !file.TooBig)
        {
            try
            {
                if (await signer.SignAsync(acceptor, file, parameters, CancellationToken.None) is { } signed)
                {
                    await file.DisposeAsync();
                    (file, parameters) = (signed.File, signed.Parameters);
                }
            }
            catch (DkimSigningException ex)
            {
                // As the SMTP submission does (451): nothing queued, the caller may try again.
                throw new CliException($"the message was not queued: it cannot be DKIM-signed now: {ex.Message}");
            }
        }
        var envelope = new Envelope(file.Id, DateTimeOffset.UtcNow, sender, file.Length,
            parameters,
            new ClientTrace("sendmail", "127.0.0.1", "localhost", "local", null, Environment.UserName),
            targets.DistinctBy(t => t.Address).ToList());
        return await acceptor.AcceptAsync(file, envelope) switch
        {
            AcceptResult.Accepted accepted => accepted.Id,
            AcceptResult.TooBig => throw new CliException($"message larger than limits.maxMessageSize ({maxSize} bytes)"),
            AcceptResult.StorageFailed { Failure: var f } => throw new CliException(
                (f.DiskFull ? "disk full: " : "") + $"the message could not be queued: {f}"),
            _ => throw new InvalidOperationException("unknown accept result"),
        };
    }

    /// <summary>Copies stdin into the spool file, turning bare LF into CRLF; returns whether any byte is 8-bit.</summary>
    private static async Task<bool> CopyWithCrLfAsync(Stream input, SpoolFile file)
    {
        var buffer = new byte[64 * 1024];
        var output = new MemoryStream();
        bool eightBit = false;
        byte previous = 0;
        int n;
        while ((n = await input.ReadAsync(buffer)) > 0)
        {
            output.SetLength(0);
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                if (b == (byte)'\n' && previous != (byte)'\r') output.WriteByte((byte)'\r');
                if (b >= 0x80) eightBit = true;
                output.WriteByte(b);
                previous = b;
            }
            file.Write(output.GetBuffer().AsSpan(0, (int)output.Length));
        }
        if (previous != (byte)'\n' && file.Length > 0) file.Write("\r\n"u8);
        return eightBit;
    }
}
