using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A logout ends the session on the server: a copy of the cookie taken before it (another browser, a
/// shared computer, a stolen cookie) is refused afterwards, not only the browser's own.
/// </summary>
public sealed class DashboardLogoutReplayTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    private const string CookieName = "__Host-securemx";

    /// <summary>A second client that sends exactly the cookie <paramref name="from"/> has now.</summary>
    private DashboardClient CopyOfTheCookie(DashboardClient from)
    {
        var captured = from.Cookies.GetCookies(host.BaseAddress)[CookieName] ?? throw new InvalidOperationException("no login cookie");
        var copy = host.NewClient();
        copy.Cookies.Add(host.BaseAddress, new Cookie(captured.Name, captured.Value, "/") { Secure = true, HttpOnly = true });
        return copy;
    }

    [Fact]
    public async Task ACookieCapturedBeforeLogoutIsRefusedAfterIt()
    {
        var address = host.AddMailbox("replayed@a.test");
        var browser = await host.SignInAsync(address);
        var thief = CopyOfTheCookie(browser);
        // The copy works while the session is open: the refusal below is the logout's doing.
        Assert.Equal(HttpStatusCode.OK, (await thief.GetAsync("/account/" + address)).StatusCode);

        using var logout = await browser.PostFormAsync("/logout");
        Assert.Equal("/login", browser.RedirectTarget(logout));

        using var replay = await thief.GetAsync("/account/" + address);
        Assert.Equal(HttpStatusCode.Redirect, replay.StatusCode);
        Assert.Equal("/login", thief.RedirectTarget(replay));
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task ALogoutEndsOnlyItsOwnSession()
    {
        var address = host.AddMailbox("two-browsers@a.test");
        var first = await host.SignInAsync(address);
        var second = await host.SignInAsync(address);

        using var logout = await first.PostFormAsync("/logout");

        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/account/" + address)).StatusCode);
    }

    [Fact]
    public async Task ACookieCapturedBeforeAPasswordChangeInAnotherSessionIsRefused()
    {
        var address = host.AddMailbox("password-elsewhere@a.test");
        var changer = await host.SignInAsync(address);
        var other = await host.SignInAsync(address);
        var copy = CopyOfTheCookie(other);
        var page = "/account/" + address;

        using var change = await changer.PostFormWithTokenFromAsync(page, page + "?handler=Password",
            ("currentPassword", DashboardTestHost.Password), ("newPassword", "another-password-42"), ("confirmPassword", "another-password-42"));
        Assert.Equal(HttpStatusCode.Redirect, change.StatusCode);

        using var replay = await copy.GetAsync(page);
        Assert.Equal("/login", copy.RedirectTarget(replay));
        Assert.Equal(HttpStatusCode.OK, (await changer.GetAsync(page)).StatusCode);
    }
}
