using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A wrong current password is a failed login of the throttle the login page and SMTP AUTH share:
/// after auth.maxFailuresPerIp of them the address can neither change the password nor log in.
/// </summary>
public sealed class AccountPasswordThrottleTests(IpThrottledDashboardHost host) : IClassFixture<IpThrottledDashboardHost>
{
    [Fact]
    public async Task WrongCurrentPasswordsBlockTheAddressForTheChangeAndForTheLogin()
    {
        const string address = "user@a.test";
        var client = await host.SignInAsync(address);
        var before = host.Store.Mailboxes.FindPasswordHash(address);
        var page = "/account/" + address;
        for (var i = 0; i < IpThrottledDashboardHost.MaxFailuresPerIp; i++)
        {
            using var wrong = await client.PostFormWithTokenFromAsync(page, page + "?handler=Password",
                ("currentPassword", "guess-" + i), ("newPassword", "a-new-password"), ("confirmPassword", "a-new-password"));
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        }

        using var blocked = await client.PostFormWithTokenFromAsync(page, page + "?handler=Password",
            ("currentPassword", DashboardTestHost.Password), ("newPassword", "a-new-password"), ("confirmPassword", "a-new-password"));
        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.Contains("data-error=\"toomany\"", await blocked.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(before, host.Store.Mailboxes.FindPasswordHash(address));

        using var login = await host.NewClient().LoginAsync("other@a.test", DashboardTestHost.Password);
        Assert.Equal((HttpStatusCode)429, login.StatusCode);
    }
}
