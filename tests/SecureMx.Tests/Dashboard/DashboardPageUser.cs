using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using SecureMx.Dashboard;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>A <see cref="DashboardUser"/> for calling a page model directly, without HTTP.</summary>
internal static class DashboardPageUser
{
    public static DashboardUser For(TestStore store, string address) =>
        new(new HttpContextAccessor { HttpContext = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, address)], "test")) } }, store.Roles, store.Mailboxes);
}
