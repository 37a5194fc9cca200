using SecureMx.Mail;
namespace SecureMx.Dashboard;

/// <summary>
/// Which mail a dashboard user may see in the delivery log and the queue (one rule for both): a
/// mailbox user the mail of their own account (submitted by it or sent with it as the envelope
/// sender); a domain administrator also all mail whose envelope sender is in a domain they manage;
/// a system administrator everything. Filters in a request may narrow this, never widen it.
/// </summary>
public sealed class MailScope
{
    public static readonly MailScope Everything = new(null, null);

    private MailScope(IReadOnlyList<string>? accounts, IReadOnlyList<string>? senderDomains)
    {
        Accounts = accounts;
        SenderDomains = senderDomains;
    }

    /// <summary>Own account(s); null for <see cref="Everything"/>.</summary>
    public IReadOnlyList<string>? Accounts { get; }

    /// <summary>Sender domains; null for <see cref="Everything"/>.</summary>
    public IReadOnlyList<string>? SenderDomains { get; }

    public bool IsEverything => Accounts is null;

    public static MailScope For(string address, bool systemAdmin, IReadOnlyList<string> managedDomains) =>
        systemAdmin ? Everything : new MailScope([address], managedDomains.ToList());

    public static MailScope For(DashboardUser user) => For(user.Address, user.IsSystemAdmin, user.IsSystemAdmin ? [] : user.ManagedDomains);

    /// <summary>
    /// The user's scope with a request's account and domain filters (normalized); null when a filter
    /// reaches outside the scope, which the page answers with 403.
    /// </summary>
    public static (MailScope Scope, string? Account, string? Domain)? ForRequest(DashboardUser user, string? account, string? domain)
    {
        var scope = For(user);
        account = AccountFilter(account);
        domain = DomainFilter(domain);
        if ((account is not null && !scope.AllowsAccount(account)) || (domain is not null && !scope.AllowsDomain(domain))) return null;
        return (scope, account, domain);
    }

    /// <summary>Whether a message with this submitting account (null: not submitted) and envelope sender is in scope.</summary>
    public bool Contains(string? account, string sender)
    {
        if (IsEverything) return true;
        return Accounts!.Any(a => Same(a, account) || Same(a, sender))
               || (DomainOf(sender) is { } d && SenderDomains!.Any(s => Same(s, d)));
    }

    /// <summary>A filter for one account may be used when that account's mail is in scope.</summary>
    public bool AllowsAccount(string account) =>
        IsEverything || Accounts!.Any(a => Same(a, account)) || (DomainOf(account) is { } d && AllowsDomain(d));

    /// <summary>A filter for one sender domain may be used only for a managed domain.</summary>
    public bool AllowsDomain(string domain) => IsEverything || SenderDomains!.Any(s => Same(s, domain));

    /// <summary>The filters of a request (null: no filter) applied to one message.</summary>
    public static bool Matches(string? account, string sender, string? accountFilter, string? domainFilter) =>
        (accountFilter is null || Same(accountFilter, account) || Same(accountFilter, sender))
        && (domainFilter is null || Same(domainFilter, DomainOf(sender)));

    /// <summary>An account filter as typed (blank: none), lower case like the stored mailboxes.</summary>
    public static string? AccountFilter(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim().ToLowerInvariant();

    /// <summary>A domain filter as typed (blank: none), in its A-label form when it is a valid domain.</summary>
    public static string? DomainFilter(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : EnvelopeAddress.NormalizeDomain(text.Trim()) ?? text.Trim().ToLowerInvariant();

    public static string? DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 || at == address.Length - 1 ? null : address[(at + 1)..];
    }

    // Addresses and domains compare without case: stored mailboxes are lower case, envelope senders may not be.
    private static bool Same(string a, string? b) => b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
