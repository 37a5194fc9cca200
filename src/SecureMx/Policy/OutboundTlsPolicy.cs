using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Policy;

/// <summary>One setting that takes part in the effective level, and where it comes from.</summary>
public sealed record TlsPolicySource(string Origin, OutboundTlsLevel Level);

/// <summary>
/// The effective outbound TLS level for one message and recipient domain, with every setting that
/// took part (for `securemx policy show`, the log and DSNs). <see cref="Decisive"/> is the strictest.
/// </summary>
public sealed record EffectiveTlsPolicy(OutboundTlsLevel Level, IReadOnlyList<TlsPolicySource> Sources)
{
    public TlsPolicySource Decisive => Sources.Last(s => s.Level == Level);

    /// <summary>Mandatory TLS because of a setting of the sender (domain or account), not of the destination.</summary>
    public bool SenderMandatory => Sources.Any(s => s.Level.RequiresTls() && s.Origin.StartsWith("sender", StringComparison.Ordinal));

    /// <summary>
    /// The requirement a recipient waits on when no server met it: the setting that demands TLS (the
    /// sender's, or the operator's destination table or default), else the recipient's DANE records.
    /// </summary>
    public RequiredTls Requirement => new(Level,
        !Level.RequiresTls() ? TlsRequirementSource.DaneRecords
        : Decisive.Origin.StartsWith("sender", StringComparison.Ordinal) ? TlsRequirementSource.Sender
        : TlsRequirementSource.Operator);

    public override string ToString() => $"{Level.Name()} (from {Decisive.Origin})";
}

/// <summary>
/// DESIGN.md §3: the effective level for a recipient is the strictest of the global default
/// (<c>delivery.defaultTlsLevel</c>, "dane"), the destination table, the sender domain's setting and
/// the sender account's setting — the logged-in account, or else the hosted mailbox of the envelope
/// sender. DANE from DNS comes on top, per MX host, at delivery time.
/// Settings are read from the store at every call: changes apply without a restart.
/// </summary>
public sealed class OutboundTlsPolicy(SecureMxStore store, DeliveryOptions options)
{
    public OutboundTlsLevel DefaultLevel { get; } = OutboundTlsLevels.TryParse(options.DefaultTlsLevel, out var l) ? l
        : throw new ArgumentException($"delivery.defaultTlsLevel: '{options.DefaultTlsLevel}' is not one of {OutboundTlsLevels.AllNames}");

    /// <param name="account">The logged-in account that submitted the message, if any.</param>
    /// <param name="sender">The envelope sender ("" for the null sender).</param>
    public EffectiveTlsPolicy For(string? account, string sender, string recipientDomain)
    {
        var sources = new List<TlsPolicySource> { new("global default (delivery.defaultTlsLevel)", DefaultLevel) };
        if (store.DestinationTls(recipientDomain) is { } dest && OutboundTlsLevels.TryParse(dest, out var destLevel))
        {
            sources.Add(new($"destination {recipientDomain}", destLevel));
        }

        // The accounts whose setting counts: the login, else the hosted mailbox the envelope sender names.
        var mailbox = account is not null && store.MailboxOutboundTls(account) is not null ? account : SenderMailbox(sender);
        var domains = new List<string>();
        if (Domain(sender) is { } senderDomain) domains.Add(senderDomain);
        if (mailbox is not null && Domain(mailbox) is { } accountDomain && !domains.Contains(accountDomain)) domains.Add(accountDomain);
        foreach (var d in domains)
        {
            if (store.DomainOutboundTls(d) == SecureMxStore.OutboundMandatory) sources.Add(new($"sender domain {d}", OutboundTlsLevel.Encrypt));
        }
        if (mailbox is not null && store.MailboxOutboundTls(mailbox) == SecureMxStore.OutboundMandatory)
        {
            sources.Add(new($"sender account {mailbox}", OutboundTlsLevel.Encrypt));
        }
        return new EffectiveTlsPolicy(sources.Max(s => s.Level), sources);
    }

    /// <summary>The mailbox an envelope sender stands for: itself, or without its subaddress (alice+x@ → alice@).</summary>
    private string? SenderMailbox(string sender)
    {
        if (sender.Length == 0 || SmtpAddressParser.TryParseMailbox(sender, allowUtf8: true, out var a) != SmtpAddressParser.Error.None || a.IsAddressLiteral) return null;
        var key = a.LookupKey;
        if (store.MailboxOutboundTls(key) is not null) return key;
        var untagged = Subaddress.Base(key, options.RecipientDelimiter);
        return untagged is not null && store.MailboxOutboundTls(untagged) is not null ? untagged : null;
    }

    private static string? Domain(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 || at == address.Length - 1 ? null : address[(at + 1)..].ToLowerInvariant();
    }
}
