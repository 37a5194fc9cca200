using System.Collections.Frozen;
using SecureMx.Mail;

namespace SecureMx.Store;

/// <summary>
/// Everything the hot path reads from the store, as it stood at one moment: the hosted domains with
/// their inbound and outbound TLS switches, the mailboxes (Maildir, outbound switch, language), the
/// aliases and the destination table. Immutable and complete: loaded in one read transaction
/// (<see cref="Load"/>) and replaced as a whole (<see cref="DirectoryCache"/>), so a lookup never
/// sees half a change. Each answer is the one the matching query of <see cref="MailboxRepository"/>
/// or <see cref="TlsPolicyRepository"/> gives on the same rows. Password hashes are not kept: a
/// login always reads the store.
/// </summary>
public sealed class DirectorySnapshot
{
    private sealed record Domain(InboundTlsSetting Inbound, OutboundTlsSetting Outbound);

    private sealed record Mailbox(string Maildir, OutboundTlsSetting Outbound, MailLanguage Language);

    private readonly FrozenDictionary<string, Domain> _domains;
    private readonly FrozenDictionary<string, Mailbox> _mailboxes;
    private readonly FrozenDictionary<string, string[]> _aliases;
    private readonly FrozenDictionary<string, OutboundTlsLevel> _destinations;

    /// <summary>When the load that made it began (what its age is counted from).</summary>
    public DateTimeOffset LoadedAt { get; }

    public int DomainCount => _domains.Count;
    public int MailboxCount => _mailboxes.Count;
    public int AliasCount => _aliases.Count;

    private DirectorySnapshot(DateTimeOffset loadedAt, Dictionary<string, Domain> domains, Dictionary<string, Mailbox> mailboxes,
        Dictionary<string, string[]> aliases, Dictionary<string, OutboundTlsLevel> destinations)
    {
        LoadedAt = loadedAt;
        _domains = domains.ToFrozenDictionary(StringComparer.Ordinal);
        _mailboxes = mailboxes.ToFrozenDictionary(StringComparer.Ordinal);
        _aliases = aliases.ToFrozenDictionary(StringComparer.Ordinal);
        _destinations = destinations.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>An empty directory (nothing hosted), for tests of what uses one.</summary>
    public static DirectorySnapshot Empty(DateTimeOffset at) => new(at, [], [], [], []);

    /// <summary>Reads the four tables in one read transaction: one consistent state, four queries.</summary>
    public static DirectorySnapshot Load(StoreDatabase db, DateTimeOffset at)
    {
        using var c = db.Connect();
        c.BeginRead();
        var domains = new Dictionary<string, Domain>(StringComparer.Ordinal);
        foreach (var (name, inbound, outbound) in c.Rows("SELECT name, inbound_tls, outbound_tls FROM domains",
                     r => (r.GetString(0), r.GetString(1), r.GetString(2))))
            domains[name] = new Domain(TlsPolicyRepository.ParseInbound(inbound), TlsPolicyRepository.ParseOutbound(outbound));
        var mailboxes = new Dictionary<string, Mailbox>(StringComparer.Ordinal);
        foreach (var (address, maildir, outbound, language) in c.Rows("SELECT address, maildir, outbound_tls, language FROM mailboxes",
                     r => (r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3))))
            mailboxes[address] = new Mailbox(maildir, TlsPolicyRepository.ParseOutbound(outbound), MailboxRepository.ParseLanguage(language));
        var aliases = c.Rows("SELECT address, target FROM aliases", r => (Address: r.GetString(0), Target: r.GetString(1)))
            .GroupBy(a => a.Address, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(a => a.Target).Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        var destinations = new Dictionary<string, OutboundTlsLevel>(StringComparer.Ordinal);
        foreach (var (domain, level) in c.Rows("SELECT domain, level FROM tls_destinations", r => (r.GetString(0), r.GetString(1))))
        {
            // A word that is no level is ignored, as TlsPolicyRepository.DestinationTls ignores it.
            if (OutboundTlsLevels.TryParse(level, out var parsed)) destinations[domain] = parsed;
        }
        c.Commit();
        return new DirectorySnapshot(at, domains, mailboxes, aliases, destinations);
    }

    public bool IsHosted(string domain) => _domains.ContainsKey(domain);

    public InboundTlsSetting? DomainInboundTls(string domain) => _domains.TryGetValue(domain, out var d) ? d.Inbound : null;

    public OutboundTlsSetting? DomainOutboundTls(string domain) => _domains.TryGetValue(domain, out var d) ? d.Outbound : null;

    public OutboundTlsSetting? MailboxOutboundTls(string address) => _mailboxes.TryGetValue(address, out var m) ? m.Outbound : null;

    public MailLanguage? MailboxLanguage(string address) => _mailboxes.TryGetValue(address, out var m) ? m.Language : null;

    public OutboundTlsLevel? DestinationTls(string domain) => _destinations.TryGetValue(domain, out var level) ? level : null;

    /// <summary>As <see cref="MailboxRepository.AddressBelongsTo"/>: the mailbox itself, or an alias with it among its targets.</summary>
    public bool AddressBelongsTo(string address, string account) => address == account
        ? _mailboxes.ContainsKey(account)
        : _aliases.TryGetValue(address, out var targets) && targets.Contains(account, StringComparer.Ordinal);

    /// <summary>As <see cref="MailboxRepository.ResolveLocal"/>: the mailbox itself, and an alias's targets that are mailboxes.</summary>
    public (List<LocalTarget> Targets, bool IsAlias) Resolve(string address)
    {
        var targets = new List<LocalTarget>();
        if (_mailboxes.TryGetValue(address, out var own)) targets.Add(new LocalTarget(address, own.Maildir));
        bool isAlias = false;
        if (_aliases.TryGetValue(address, out var aliasTargets))
        {
            foreach (var target in aliasTargets)
            {
                if (!_mailboxes.TryGetValue(target, out var m)) continue; // the store's join drops a target that is no mailbox
                targets.Add(new LocalTarget(target, m.Maildir));
                isAlias = true;
            }
        }
        return (targets, isAlias);
    }

    /// <summary>As <see cref="MailboxRepository.LookupRecipient"/>.</summary>
    public RecipientLookup? LookupRecipient(string domain, IEnumerable<string> candidates)
    {
        if (!_domains.TryGetValue(domain, out var d)) return null;
        foreach (var candidate in candidates)
        {
            var (targets, isAlias) = Resolve(candidate);
            if (targets.Count > 0) return new RecipientLookup(d.Inbound, candidate, isAlias, targets);
        }
        return new RecipientLookup(d.Inbound, null, false, []);
    }
}
