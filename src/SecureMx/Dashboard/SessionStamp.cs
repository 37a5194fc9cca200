using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// Ties a login cookie to the password it was made with: a changed password (securemx mailbox
/// passwd) or a removed mailbox ends every session at its next request. The stamp is a hash of
/// the stored password hash, never the hash itself (the cookie is encrypted, but still).
/// </summary>
public static class SessionStamp
{
    public const string ClaimType = "securemx:stamp";

    public static string Of(string passwordHash) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("securemx-dashboard-session\n" + passwordHash)))[..32];

    public static ClaimsPrincipal Principal(string address, string passwordHash) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, address), new Claim(ClaimType, Of(passwordHash))],
            CookieAuthenticationDefaults.AuthenticationScheme));

    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var address = context.Principal?.Identity?.Name;
        var stamp = context.Principal?.FindFirst(ClaimType)?.Value;
        var mailboxes = context.HttpContext.RequestServices.GetRequiredService<MailboxRepository>();
        var hash = address is null ? null : mailboxes.FindPasswordHash(address);
        if (hash is null || stamp is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stamp), Encoding.ASCII.GetBytes(Of(hash))))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }
}
