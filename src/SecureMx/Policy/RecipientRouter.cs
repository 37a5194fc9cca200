using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Policy;

/// <summary>
/// The one answer to "where does mail for this address go?", for SMTP RCPT (<see cref="InboundRecipientPolicy"/>),
/// `securemx sendmail` and DSNs to a hosted sender. In order: the exact mailbox or alias; the same
/// without the subaddress (delivery.recipientDelimiter); postmaster@ a hosted domain (the configured
/// delivery.postmaster, else the instance's postmaster Maildir); else an unknown user of a hosted
/// domain, or a domain not hosted here. Before all of them, the TLS report address of a hosted domain
/// (<see cref="TlsReportAddress"/>, with tlsReporting given). Local parts and domains match without case (the store keys
/// addresses by <see cref="EnvelopeAddress.LookupKey"/>); address literals are never hosted.
/// Read from the store at every call: changes apply at once.
/// </summary>
public sealed class RecipientRouter(MailboxRepository mailboxes, DeliveryOptions options, TlsReportingOptions? tlsReporting = null)
{
    /// <summary>
    /// The router every part of one instance uses — the server and every CLI command that routes mail (sendmail,
    /// queue bounce, the digest, tls-report send): with the instance's tlsReporting, so that mail to a hosted
    /// domain's report address reaches the report reader from every way in, never a mailbox of that name.
    /// </summary>
    public static RecipientRouter For(MailboxRepository mailboxes, SecureMxOptions options) => new(mailboxes, options.Delivery, options.TlsReporting);

    /// <summary>The largest TLS report taken (tlsReporting.maxReportBytes): a larger SIZE= is refused at RCPT.</summary>
    public long MaxReportBytes => tlsReporting?.MaxReportBytes ?? long.MaxValue;

    /// <summary>The instance's own postmaster Maildir, relative to the data directory.</summary>
    public const string InstancePostmasterMaildir = "mail/postmaster";

    private static readonly RecipientRouting NotHosted = new(RecipientKind.NotHosted, [], false);

    public RecipientRouting Route(EnvelopeAddress address)
    {
        if (address.IsNull || address.IsAddressLiteral) return NotHosted;
        var key = address.LookupKey;
        var candidates = new List<string>(2) { key };
        if (Subaddress.Base(key, options.RecipientDelimiter) is { } untagged) candidates.Add(untagged);
        var found = mailboxes.LookupRecipient(address.Domain, candidates);
        if (found is null) return NotHosted;
        // RFC 8460 §5.3: a sender delivers reports despite TLS failures; the report stores nothing in a mailbox.
        if (tlsReporting is not null && TlsReportAddress.Is(tlsReporting, address))
            return new RecipientRouting(RecipientKind.TlsReport, [new LocalTarget(address.LookupKey, TlsReportAddress.Target)], false);
        bool mandatory = found.InboundTls == InboundTlsSetting.Mandatory;
        if (found.Targets.Count > 0) return new RecipientRouting(found.IsAlias ? RecipientKind.Alias : RecipientKind.Mailbox, found.Targets, mandatory);
        if (address.LocalPart.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) return Postmaster(address.Domain, mandatory);
        return new RecipientRouting(RecipientKind.UnknownUser, [], mandatory);
    }

    /// <summary>
    /// The language of the mail SecureMx itself writes to the mailboxes <paramref name="routing"/> reaches
    /// (its DSNs): theirs when they all chose the same one, else English — for an alias whose mailboxes
    /// disagree, the instance's postmaster Maildir and every address not hosted here.
    /// </summary>
    public MailLanguage LanguageOf(RecipientRouting routing)
    {
        var languages = routing.Targets.Select(t => mailboxes.MailboxLanguage(t.Address) ?? MailLanguage.English).Distinct().ToList();
        return languages.Count == 1 ? languages[0] : MailLanguage.English;
    }

    /// <summary>The bare <c>RCPT TO:&lt;postmaster&gt;</c> (RFC 5321 §4.1.1.3): no domain, no TLS switch.</summary>
    public RecipientRouting BarePostmaster() => Postmaster(null, false);

    /// <summary>postmaster@<paramref name="domain"/> of a hosted domain that has no mailbox or alias of that name.</summary>
    private RecipientRouting Postmaster(string? domain, bool inboundTlsMandatory)
    {
        if (options.Postmaster.Length > 0)
        {
            var configured = mailboxes.ResolveLocal(options.Postmaster.ToLowerInvariant());
            if (configured.Count > 0) return new RecipientRouting(RecipientKind.Postmaster, configured, inboundTlsMandatory);
        }
        return new RecipientRouting(RecipientKind.Postmaster, [new LocalTarget("postmaster@" + (domain ?? "localhost"), InstancePostmasterMaildir)], inboundTlsMandatory);
    }
}
