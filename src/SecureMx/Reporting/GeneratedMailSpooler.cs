using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;

namespace SecureMx.Reporting;

/// <summary>
/// The one way mail SecureMx writes itself — DSNs (Queue/DsnEmitter), the refused-mail digest and TLS reports —
/// enters the spool: each address routed as mail to it is (<see cref="RecipientRouter"/>: a hosted address into
/// its Maildir targets, a hosted report address to the report reader, anyone else by SMTP; an unknown user of a
/// hosted domain to the domain's postmaster or left out, as the caller needs), never with a NOTIFY (generated mail
/// gets no DSN), and the bytes accepted under an envelope from the local host (<see cref="ClientTrace"/> names the
/// listener: "dsn", "refused-digest", "tlsrpt"). Two steps, so that the caller knows the queue id before the
/// message exists (<see cref="Write"/>, then <see cref="AcceptAsync"/>): a report marked sent as "queued as ID"
/// before it is spooled goes out at most once.
/// </summary>
public sealed class GeneratedMailSpooler(MessageAcceptor acceptor, RecipientRouter router, string hostname)
{
    /// <summary>The router the addresses go through (a DSN also asks it for the language of the mailboxes it reaches).</summary>
    public RecipientRouter Router => router;

    /// <summary>
    /// Where generated mail to <paramref name="to"/> goes: its recipients (empty when an unknown user of a hosted
    /// domain is left out) and the routing they came from.
    /// </summary>
    public GeneratedMailRoute Route(EnvelopeAddress to, UnknownHostedAddress unknown)
    {
        var route = router.Route(to);
        if (route.Kind == RecipientKind.UnknownUser)
        {
            if (unknown == UnknownHostedAddress.LeftOut) return new([], route);
            route = router.Route(new EnvelopeAddress("postmaster", to.Domain, false));
        }
        if (!route.IsLocal) return new([new EnvelopeRecipient(to.ToString(), to.ToString(), RecipientRoute.Remote, null, DsnNotify.Never, null, null)], route);
        return new(route.Targets.DistinctBy(t => t.Address)
            .Select(t => new EnvelopeRecipient(t.Address, to.ToString(), RecipientRoute.Local, t.Maildir, DsnNotify.Never, null, null)).ToList(), route);
    }

    /// <summary>
    /// A new spool file holding <paramref name="bytes"/> under a new queue id (<see cref="SpoolFile.Id"/>); nothing is
    /// in the queue until <see cref="AcceptAsync"/>. Never throws for storage: a failure shows in the accept's result.
    /// </summary>
    public SpoolFile Write(ReadOnlySpan<byte> bytes)
    {
        var file = acceptor.Open(maxSize: 0);
        file.Write(bytes);
        return file;
    }

    /// <summary>
    /// Accepts <paramref name="file"/> into the queue from <paramref name="sender"/> ("" = the null sender) to
    /// <paramref name="recipients"/> (each address once), from the local host on <paramref name="listener"/>;
    /// the file is disposed either way.
    /// </summary>
    public Task<AcceptResult> AcceptAsync(SpoolFile file, string sender, MailParameters parameters, string listener,
        IReadOnlyList<EnvelopeRecipient> recipients, DateTimeOffset receivedAt) =>
        acceptor.AcceptAsync(file, new Envelope(file.Id, receivedAt, sender, file.Length, parameters,
            new ClientTrace(listener, "127.0.0.1", hostname, "local", null, null), recipients.DistinctBy(r => r.Address).ToList()));
}
