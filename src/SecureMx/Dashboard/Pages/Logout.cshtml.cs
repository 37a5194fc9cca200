using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// Sign out: POST only (with the antiforgery token), so that no link or image can end a session.
/// The session record is revoked first: a copy of the cookie (a shared computer, a stolen one) is
/// refused from now on, not only the browser's.
/// </summary>
public sealed class LogoutModel(DashboardSessionRepository sessions, ILogger<LogoutModel> log) : PageModel
{
    public IActionResult OnGet() => LocalRedirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        if (DashboardSession.IdOf(User) is { } id && sessions.Revoke(id, "logout"))
            log.LogInformation("dashboard logout {Account}", User.Identity?.Name);
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return LocalRedirect("/login");
    }
}
