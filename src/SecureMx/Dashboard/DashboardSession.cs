using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// Ties a login cookie to its session record in the store (<see cref="DashboardSessionRepository"/>):
/// the cookie carries the session's random id, and every request asks the store whether that session
/// is still open. A logout, a password change (other than the one made in this session), a role
/// change, a removed mailbox or the absolute lifetime (dashboard.sessionMaxLifetime) end it for
/// every copy of the cookie — a cookie captured before a logout is worth nothing after it.
/// </summary>
public static class DashboardSession
{
    public const string ClaimType = "securemx:session";

    public static ClaimsPrincipal Principal(string address, string sessionId) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, address), new Claim(ClaimType, sessionId)],
            CookieAuthenticationDefaults.AuthenticationScheme));

    /// <summary>The session id of a signed-in principal, or null (a cookie of an earlier version has none).</summary>
    public static string? IdOf(ClaimsPrincipal? principal) => principal?.FindFirst(ClaimType)?.Value;

    /// <summary>CookieAuthenticationEvents.OnValidatePrincipal: one lookup by primary key per request.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var address = context.Principal?.Identity?.Name;
        var id = IdOf(context.Principal);
        DashboardSessionState state;
        try
        {
            state = address is null || id is null
                ? DashboardSessionState.Unknown
                : context.HttpContext.RequestServices.GetRequiredService<DashboardSessionRepository>().Check(id, address);
        }
        catch (Exception ex) when (StoreDatabase.IsUnreachable(ex))
        {
            // The authentication handler would turn the exception into "not signed in" (a redirect to the login
            // page); the session is neither valid nor ended: the request is answered 503 and the cookie kept.
            StoreUnreachablePage.Remember(context.HttpContext, ex);
            context.RejectPrincipal();
            return;
        }
        if (state == DashboardSessionState.Active) return;
        context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Dashboard")
            .LogInformation("dashboard session of {Account} refused: {State}", address ?? "-", state.ToString().ToLowerInvariant());
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }
}
