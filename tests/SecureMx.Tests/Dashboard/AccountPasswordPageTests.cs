using System.Net;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The password change on one's own account page: antiforgery, the refusals with their messages,
/// and after a change this session stays while every other session of the account ends at its next
/// request. Each test uses its own mailbox.
/// </summary>
public sealed class AccountPasswordPageTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    private const string Next = "a-new-password-for-the-dashboard";

    private static string Page(string address) => "/account/" + address;

    private static Task<HttpResponseMessage> ChangeAsync(DashboardClient client, string address, string current, string next, string? confirmation = null) =>
        client.PostFormWithTokenFromAsync(Page(address), Page(address) + "?handler=Password",
            ("currentPassword", current), ("newPassword", next), ("confirmPassword", confirmation ?? next));

    private static async Task<string> BodyAsync(HttpResponseMessage response) => await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

    private string StoredHash(string address) => host.Store.Mailboxes.FindPasswordHash(address)!;

    [Fact]
    public async Task OnlyTheOwnAccountPageHasThePasswordForm()
    {
        var own = await (await host.As(Role.User)).GetPageAsync(Page("user@a.test"));
        Assert.Contains("id=\"password-change\"", own);
        // Back at the form and its message after the POST, not at the top of a long page.
        Assert.Contains("class=\"password-form\" action=\"/account/user@a.test?handler=Password#password-change\"", own);
        var seenByAdmin = await (await host.As(Role.AdminA)).GetPageAsync(Page("user@a.test"));
        Assert.DoesNotContain("id=\"password-change\"", seenByAdmin);
        Assert.Contains("id=\"account-outbound-switch\"", seenByAdmin);
    }

    [Fact]
    public async Task AChangeKeepsThisSessionAndEndsEveryOtherSessionAtItsNextRequest()
    {
        var address = host.AddMailbox("changes-own@a.test");
        var here = await host.SignInAsync(address);
        var elsewhere = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await elsewhere.GetAsync("/")).StatusCode);

        using var change = await ChangeAsync(here, address, DashboardTestHost.Password, Next);

        Assert.Equal(HttpStatusCode.Redirect, change.StatusCode);
        Assert.Equal(Page(address) + "?saved=password#password-change", change.Headers.Location!.OriginalString);
        Assert.Contains("id=\"password-changed\"", await here.GetPageAsync(Page(address) + "?saved=password"));
        Assert.Equal(HttpStatusCode.OK, (await here.GetAsync("/log")).StatusCode);
        using var ended = await elsewhere.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        Assert.Equal("/login", elsewhere.RedirectTarget(ended));

        Assert.True(PasswordHash.Verify(Next, StoredHash(address)));
        using var oldLogin = await host.NewClient().LoginAsync(address, DashboardTestHost.Password);
        Assert.Equal(HttpStatusCode.OK, oldLogin.StatusCode); // the login page again, with its error
        using var newLogin = await host.NewClient().LoginAsync(address, Next);
        Assert.Equal(HttpStatusCode.Redirect, newLogin.StatusCode);
        Assert.Empty(host.Errors);
    }

    [Theory]
    [InlineData("wrong-password", Next, Next, "currentwrong", "The current password is wrong.")]
    [InlineData(DashboardTestHost.Password, Next, "something-else-entirely", "mismatch", "The two new passwords do not match.")]
    [InlineData(DashboardTestHost.Password, "1234567", "1234567", "tooshort", "at least 8 characters")]
    [InlineData(DashboardTestHost.Password, "", "", "newmissing", "Please enter a new password.")]
    [InlineData("", Next, Next, "currentmissing", "Please enter your current password.")]
    public async Task ARefusalSaysWhyAndChangesNothing(string current, string next, string confirmation, string error, string text)
    {
        var address = host.AddMailbox($"refused-{error}@a.test");
        var client = await host.SignInAsync(address);
        var before = StoredHash(address);

        using var response = await ChangeAsync(client, address, current, next, confirmation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await BodyAsync(response);
        Assert.Contains($"id=\"password-error\" role=\"alert\" data-error=\"{error}\"", html);
        Assert.Contains(text, html);
        // No password is put back into the form.
        if (next.Length > 0) Assert.DoesNotContain(next, html);
        if (current.Length > 0) Assert.DoesNotContain(current, html);
        Assert.Equal(before, StoredHash(address));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode); // still signed in
    }

    [Fact]
    public async Task TheRefusalIsInGermanForAGermanBrowser()
    {
        var address = host.AddMailbox("refused-german@a.test");
        var client = await host.SignInAsync(address, acceptLanguage: "de");
        using var response = await ChangeAsync(client, address, DashboardTestHost.Password, Next, "etwas-ganz-anderes");
        Assert.Contains("Die beiden neuen Passwörter stimmen nicht überein.", await BodyAsync(response));
    }

    [Theory]
    [InlineData(Role.AdminA)]
    [InlineData(Role.Root)]
    public async Task NobodyChangesAnotherAccountsPasswordHereNotEvenAnAdministrator(Role role)
    {
        var address = host.AddMailbox($"target-of-{role}@a.test".ToLowerInvariant());
        var before = StoredHash(address);
        var admin = await host.As(role);

        using var response = await ChangeAsync(admin, address, DashboardTestHost.Password, Next);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, StoredHash(address));
        Assert.True(PasswordHash.Verify(DashboardTestHost.Password, StoredHash(DashboardTestHost.Addresses[role])));
    }

    [Fact]
    public async Task WithoutTheAntiforgeryTokenNothingChanges()
    {
        var address = host.AddMailbox("no-token@a.test");
        var client = await host.SignInAsync(address);
        var before = StoredHash(address);

        using var response = await client.PostRawAsync(Page(address) + "?handler=Password",
            [new("currentPassword", DashboardTestHost.Password), new("newPassword", Next), new("confirmPassword", Next)]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, StoredHash(address));
    }
}
