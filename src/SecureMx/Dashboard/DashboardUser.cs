using Microsoft.AspNetCore.Http;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// The signed-in mailbox and what it may do, read from the store once per request (a revoked role
/// ends at the next request). Every page handler asks this before reading or changing anything:
/// a mailbox user sees their own account; a domain administrator their domains and the accounts
/// in them; a system administrator everything.
/// </summary>
public sealed class DashboardUser(IHttpContextAccessor http, RoleRepository roles, MailboxRepository mailboxes)
{
    private bool? _systemAdmin;
    private List<string>? _adminDomains;

    /// <summary>The mailbox address the user logged in with.</summary>
    public string Address => http.HttpContext?.User.Identity?.Name ?? throw new InvalidOperationException("not signed in");

    public string OwnDomain => Address[(Address.LastIndexOf('@') + 1)..];

    public bool IsSystemAdmin => _systemAdmin ??= roles.IsSystemAdmin(Address);

    /// <summary>The domains this user administers: all hosted ones for a system administrator.</summary>
    public IReadOnlyList<string> ManagedDomains => _adminDomains ??= IsSystemAdmin ? mailboxes.ListDomains() : roles.AdministeredDomains(Address);

    public bool CanManageDomain(string domain) => ManagedDomains.Contains(domain, StringComparer.Ordinal);

    /// <summary>Own account, or an account in a domain this user administers.</summary>
    public bool CanSeeAccount(string address)
    {
        if (address == Address) return true;
        var at = address.LastIndexOf('@');
        return at > 0 && CanManageDomain(address[(at + 1)..]);
    }
}
