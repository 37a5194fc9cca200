using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Policy;

/// <summary>
/// The effective outbound TLS policy: for one message and recipient domain (<see cref="For"/>), and
/// for one account's mail (<see cref="ForAccount"/>, what the dashboard and `policy show` call "in
/// effect"). The rule, in order:
/// <list type="number">
/// <item>the global default (<c>delivery.defaultTlsLevel</c>, <c>dane</c>);</item>
/// <item>an entry of the destination table for the recipient domain <b>replaces</b> it, in either
/// direction — an operator may relax a destination with broken STARTTLS or TLSA, as Postfix's
/// policy table does;</item>
/// <item>the <b>strictest</b> of that, the sender domain's and the sender account's setting applies
/// (the logged-in account, else the hosted mailbox of the envelope sender), so a customer's
/// mandatory TLS is never lowered by anyone else;</item>
/// <item>a DNSSEC-secure TLSA RRset of an MX host forces DANE at delivery (RFC 7672 §2.2), unless
/// the destination entry lowered the level below <c>dane</c> (<c>none</c>, <c>may</c>): then TLSA is
/// not used at all (<see cref="EffectiveTlsPolicy.UsesDane"/>), and a customer's mandatory TLS
/// means TLS 1.2+ with strict ciphers without DANE.</item>
/// </list>
/// A TLSA lookup failure defers (never downgrades) whenever TLSA is used. Settings are read from
/// the store at every call: changes apply without a restart.
/// </summary>
public sealed class OutboundTlsPolicy(TlsPolicyRepository policies, DeliveryOptions options)
{
    /// <summary>A destination that no table entry names: what mail from an account gets in general.</summary>
    private const string AnyDestination = "any-destination.invalid";

    public OutboundTlsLevel DefaultLevel { get; } = OutboundTlsLevels.TryParse(options.DefaultTlsLevel, out var l) ? l
        : throw new ArgumentException($"delivery.defaultTlsLevel: '{options.DefaultTlsLevel}' is not one of {OutboundTlsLevels.AllNames}");

    /// <param name="account">The logged-in account that submitted the message, if any.</param>
    /// <param name="sender">The envelope sender ("" for the null sender).</param>
    public EffectiveTlsPolicy For(string? account, string sender, string recipientDomain)
    {
        var global = new TlsPolicySource(TlsPolicySource.GlobalDefault, DefaultLevel);
        var sources = new List<TlsPolicySource>();
        TlsPolicySource? replaced = null;
        if (policies.DestinationTls(recipientDomain) is { } destination)
        {
            sources.Add(new($"destination {recipientDomain}", destination));
            replaced = global;
        }
        else
        {
            sources.Add(global);
        }

        // The accounts whose setting counts: the login, else the hosted mailbox the envelope sender names.
        var accountSetting = account is null ? null : policies.MailboxOutboundTls(account);
        var mailbox = accountSetting is not null ? account : SenderMailbox(sender);
        var domains = new List<string>();
        if (Domain(sender) is { } senderDomain) domains.Add(senderDomain);
        if (mailbox is not null && Domain(mailbox) is { } accountDomain && !domains.Contains(accountDomain)) domains.Add(accountDomain);
        foreach (var d in domains)
        {
            if (policies.DomainOutboundTls(d) == OutboundTlsSetting.Mandatory) sources.Add(new($"sender domain {d}", OutboundTlsLevel.Encrypt));
        }
        // The login's setting was read above: one query per message less on the delivery path.
        if (mailbox is not null && (accountSetting is not null && mailbox == account ? accountSetting : policies.MailboxOutboundTls(mailbox)) == OutboundTlsSetting.Mandatory)
        {
            sources.Add(new($"sender account {mailbox}", OutboundTlsLevel.Encrypt));
        }
        return new EffectiveTlsPolicy(sources.Max(s => s.Level), sources, replaced);
    }

    /// <summary>
    /// What is in effect for the mail of one account: its own switch, its domain's switch and the
    /// resulting policy (to a destination without a table entry). Null when the mailbox does not exist.
    /// </summary>
    public AccountTlsPolicy? ForAccount(string address)
    {
        if (policies.MailboxOutboundTls(address) is not { } own) return null;
        var domain = address[(address.LastIndexOf('@') + 1)..];
        return new AccountTlsPolicy(address, own, domain, policies.DomainOutboundTls(domain) ?? OutboundTlsSetting.Default, For(address, address, AnyDestination));
    }

    /// <summary>What is in effect for mail whose envelope sender is in a hosted domain (no account's own switch).</summary>
    public EffectiveTlsPolicy ForDomain(string domain) => For(null, "postmaster@" + domain, AnyDestination);

    /// <summary>The mailbox an envelope sender stands for: itself, or without its subaddress (alice+x@ → alice@).</summary>
    private string? SenderMailbox(string sender)
    {
        if (sender.Length == 0 || SmtpAddressParser.TryParseMailbox(sender, allowUtf8: true, out var a) != SmtpAddressParser.Error.None || a.IsAddressLiteral) return null;
        var key = a.LookupKey;
        if (policies.MailboxOutboundTls(key) is not null) return key;
        var untagged = Subaddress.Base(key, options.RecipientDelimiter);
        return untagged is not null && policies.MailboxOutboundTls(untagged) is not null ? untagged : null;
    }

    private static string? Domain(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 || at == address.Length - 1 ? null : address[(at + 1)..].ToLowerInvariant();
    }
}
