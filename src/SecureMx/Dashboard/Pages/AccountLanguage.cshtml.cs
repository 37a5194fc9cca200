using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Auth;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// Saves the language of the mail SecureMx sends an account (its DSNs), posted by the account page's
/// language section (<c>Shared/_MailLanguage.cshtml</c>), then shows the account page again. For the
/// same people as the account page: the account itself, an administrator of its domain, system administrators.
/// </summary>
public sealed class AccountLanguageModel(DashboardUser user, MailboxRepository mailboxes) : PageModel
{
    /// <summary>Nothing to show: the form lives on the account page.</summary>
    public IActionResult OnGet(string address) => Redirect(AccountPage(address, saved: false));

    public IActionResult OnPost(string address, [FromForm] string? language)
    {
        var account = AccountAuthenticator.Normalize(address) ?? "";
        // Authorization before existence, as on the account page: 403 for any account the user may not see.
        if (account.Length == 0 || !user.CanSeeAccount(account)) return user.IsSystemAdmin ? NotFound() : Forbid();
        if (mailboxes.MailboxLanguage(account) is null) return NotFound();
        if (!MailLanguages.TryParse(language, out var chosen)) return BadRequest();
        mailboxes.SetMailboxLanguage(account, chosen);
        return Redirect(AccountPage(account, saved: true));
    }

    private static string AccountPage(string address, bool saved) =>
        $"/account/{Uri.EscapeDataString(address).Replace("%40", "@", StringComparison.Ordinal)}{(saved ? "?saved=1" : "")}";
}
