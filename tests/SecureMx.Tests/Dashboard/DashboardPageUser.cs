using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using SecureMx.Dashboard;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>A <see cref="DashboardUser"/> for calling a page model directly, without HTTP.</summary>
internal static class DashboardPageUser
{
    public static DashboardUser For(SecureMxStore store, string address) =>
        new(new HttpContextAccessor { HttpContext = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, address)], "test")) } }, store);
}
