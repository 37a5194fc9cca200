using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Auth;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// One mailbox: its own outbound mandatory TLS switch and what is in effect for its mail. For the
/// account itself, an administrator of its domain and system administrators.
/// </summary>
public sealed class AccountModel(DashboardUser user, TlsPolicyRepository policies, OutboundTlsPolicy outboundTls, OutboundWaitTimes wait) : PageModel
{
    public string Address { get; private set; } = "";

    public string Domain => Address[(Address.LastIndexOf('@') + 1)..];

    /// <summary>The account's own switch.</summary>
    public bool Mandatory { get; private set; }

    /// <summary>What is in effect for its mail: the domain's switch covers the account whatever its own setting.</summary>
    public MandatoryTlsSource InEffect { get; private set; }

    public bool CanManageDomain => user.CanManageDomain(Domain);

    public OutboundWaitTimes Wait => wait;

    public bool Saved { get; private set; }

    public IActionResult OnGet(string address, [FromQuery] string? saved)
    {
        if (Authorize(address) is { } denied) return denied;
        if (outboundTls.ForAccount(Address) is not { } account) return NotFound(); // removed since Authorize looked
        Mandatory = account.Own == OutboundTlsSetting.Mandatory;
        InEffect = account.MandatoryBy;
        Saved = saved == "1";
        return Page();
    }

    public IActionResult OnPostOutbound(string address, [FromForm] bool? mandatory)
    {
        if (Authorize(address) is { } denied) return denied;
        if (mandatory is not { } on) return BadRequest();
        policies.SetMailboxOutboundTls(Address, on ? OutboundTlsSetting.Mandatory : OutboundTlsSetting.Default, "dashboard:" + user.Address);
        return Redirect($"/account/{Uri.EscapeDataString(Address).Replace("%40", "@", StringComparison.Ordinal)}?saved=1");
    }

    /// <summary>Authorization before existence: 403 for any account the user may not see, existing or not.</summary>
    private IActionResult? Authorize(string address)
    {
        Address = AccountAuthenticator.Normalize(address) ?? "";
        if (Address.Length == 0 || !user.CanSeeAccount(Address)) return user.IsSystemAdmin ? NotFound() : Forbid();
        return policies.MailboxOutboundTls(Address) is null ? NotFound() : null;
    }
}
