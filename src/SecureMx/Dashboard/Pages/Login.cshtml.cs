using System.Data.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// Login with mailbox address and password: the same check, hash and failure throttle as SMTP AUTH
/// (a guesser gains nothing by switching between the dashboard and the submission port), plus a
/// cap on attempts per address and minute. Unknown address and wrong password look the same.
/// </summary>
public sealed class LoginModel(AccountAuthenticator authenticator, LoginRateLimiter limiter, DashboardSessionRepository sessions, SessionLifetime lifetime, ILogger<LoginModel> log) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Address { get; private set; }

    /// <summary>The resource key of the message to show, or null.</summary>
    public string? Error { get; private set; }

    public IActionResult OnGet() => User.Identity?.IsAuthenticated == true ? LocalRedirect(SafeReturnUrl) : Page();

    public async Task<IActionResult> OnPostAsync([FromForm] string? address, [FromForm] string? password, CancellationToken ct)
    {
        Address = address?.Trim();
        if (string.IsNullOrEmpty(Address) || string.IsNullOrEmpty(password))
        {
            Error = "Login_Missing";
            return Page();
        }
        // ::ffff:a.b.c.d from a dual-stack [::] dashboard is the IPv4 client a.b.c.d.
        var ip = HttpContext.Connection.RemoteIpAddress is { } remote ? ClientAddress.Normalize(remote).ToString() : "unknown";
        if (!limiter.TryAcquire(ip))
        {
            log.LogWarning("dashboard login from {Ip} refused: more than the allowed attempts per minute", ip);
            Error = "Login_TooMany";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        var (result, account) = await authenticator.LoginAsync(Address, password, ip, "dashboard", ct);
        if (result != LoginResult.Success || account is null)
        {
            Error = result == LoginResult.Blocked ? "Login_TooMany" : "Login_Failed";
            if (result == LoginResult.Blocked) Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        string sessionId;
        try
        {
            sessionId = sessions.Start(account, lifetime.Max);
        }
        catch (DbException ex)
        {
            // Opening a session is a write; on a full disk say so rather than fail with a 500.
            var diskFull = StorageFailure.IsDiskFull(ex);
            log.LogWarning("dashboard login {Account} from {Ip}: no session could be opened: {Reason}: {Error}", account, ip,
                diskFull ? "disk full" : "the store cannot be written", ex.Message);
            Error = diskFull ? "Login_DiskFull" : "Login_StoreFailed";
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, DashboardSession.Principal(account, sessionId));
        log.LogInformation("dashboard login {Account} from {Ip}", account, ip);
        return LocalRedirect(SafeReturnUrl);
    }

    private string SafeReturnUrl => ReturnUrl is { } r && Url.IsLocalUrl(r) && !r.StartsWith("/login", StringComparison.OrdinalIgnoreCase) ? r : "/";
}
