using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Auth;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// One mailbox: its own outbound mandatory TLS switch and what is in effect for its mail, the
/// settings for mail programs, and for the account itself the change of its own password. For the
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

    /// <summary>The signed-in user's own account: only then the password can be changed here.</summary>
    public bool IsOwnAccount => Address == user.Address;

    /// <summary>Why the last password change was refused, or null.</summary>
    public PasswordChangeResult? PasswordError { get; private set; }

    public bool PasswordChanged { get; private set; }

    public IActionResult OnGet(string address, [FromQuery] string? saved)
    {
        if (Authorize(address) is { } denied) return denied;
        if (Load() is { } gone) return gone;
        Saved = saved == "1";
        PasswordChanged = saved == "password" && IsOwnAccount;
        return Page();
    }

    public IActionResult OnPostOutbound(string address, [FromForm] bool? mandatory)
    {
        if (Authorize(address) is { } denied) return denied;
        if (mandatory is not { } on) return BadRequest();
        policies.SetMailboxOutboundTls(Address, on ? OutboundTlsSetting.Mandatory : OutboundTlsSetting.Default, "dashboard:" + user.Address);
        return Redirect($"/account/{Uri.EscapeDataString(Address).Replace("%40", "@", StringComparison.Ordinal)}?saved=1");
    }

    public async Task<IActionResult> OnPostPasswordAsync(string address, [FromForm] string? currentPassword, [FromForm] string? newPassword,
        [FromForm] string? confirmPassword, [FromServices] PasswordChange change, CancellationToken ct)
    {
        if (Authorize(address) is { } denied) return denied;
        // Only one's own: an administrator sets another account's password with `securemx mailbox passwd`.
        if (!IsOwnAccount) return Forbid();
        // ::ffff:a.b.c.d from a dual-stack [::] dashboard is the IPv4 client a.b.c.d.
        var ip = HttpContext.Connection.RemoteIpAddress is { } remote ? ClientAddress.Normalize(remote).ToString() : "unknown";
        // This session stays (as with Google or GitHub: the user just proved the password); every other one ends.
        var result = await change.ChangeAsync(Address, currentPassword, newPassword, confirmPassword, ip, DashboardSession.IdOf(User), ct);
        if (result == PasswordChangeResult.Changed)
        {
            // The fragment scrolls the page back to the form and its message, as after a refusal.
            return Redirect($"/account/{Uri.EscapeDataString(Address).Replace("%40", "@", StringComparison.Ordinal)}?saved=password#password-change");
        }
        if (result == PasswordChangeResult.AccountGone || Load() is not null) return NotFound();
        PasswordError = result;
        if (result == PasswordChangeResult.TooMany) Response.StatusCode = StatusCodes.Status429TooManyRequests;
        return Page();
    }

    /// <summary>The account's settings for the page; NotFound when it was removed since <see cref="Authorize"/> looked.</summary>
    private IActionResult? Load()
    {
        if (outboundTls.ForAccount(Address) is not { } account) return NotFound();
        Mandatory = account.Own == OutboundTlsSetting.Mandatory;
        InEffect = account.MandatoryBy;
        return null;
    }

    /// <summary>Authorization before existence: 403 for any account the user may not see, existing or not.</summary>
    private IActionResult? Authorize(string address)
    {
        Address = AccountAuthenticator.Normalize(address) ?? "";
        if (Address.Length == 0 || !user.CanSeeAccount(Address)) return user.IsSystemAdmin ? NotFound() : Forbid();
        return policies.MailboxOutboundTls(Address) is null ? NotFound() : null;
    }
}
