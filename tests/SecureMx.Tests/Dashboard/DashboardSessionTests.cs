using System.Net;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A role change, a changed password or a removed mailbox end the account's open sessions on the
/// server (the next request gets the login page), and roles are read at every request besides.
/// Each test uses its own mailbox.
/// </summary>
public sealed class DashboardSessionTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [Fact]
    public async Task RevokedDomainAdminRoleEndsTheSessionAndAnEarlierTokenChangesNothing()
    {
        var address = host.AddMailbox("revoked-admin@b.test");
        host.Store.Roles.AddDomainAdmin("b.test", address, "test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/b.test")).StatusCode);
        var token = await client.TokenAsync();

        host.Store.Roles.RemoveDomainAdmin("b.test", address, "test");

        var before = PolicySnapshot.Take(host.Store);
        using var post = await client.PostRawAsync("/domain/b.test?handler=Outbound", [new("mandatory", "true"), new("__af", token)]);
        Assert.Equal(HttpStatusCode.Redirect, post.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(post));
        Assert.Equal(before, PolicySnapshot.Take(host.Store));

        // A new login has the account's rights of now.
        var again = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.Forbidden, (await again.GetAsync("/domain/b.test")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task RevokedSystemAdminRoleEndsTheSession()
    {
        var address = host.AddMailbox("revoked-root@b.test");
        host.Store.Roles.AddSystemAdmin(address, "test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/a.test")).StatusCode);

        host.Store.Roles.RemoveSystemAdmin(address, "test");

        using var ended = await client.GetAsync("/admin");
        Assert.Equal("/login", client.RedirectTarget(ended));
        var again = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.Forbidden, (await again.GetAsync("/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await again.GetAsync("/domain/a.test")).StatusCode);
    }

    [Fact]
    public async Task RolesAreStillReadAtEveryRequestOfASession()
    {
        // A role row removed behind the repository's back (no session revoked) still counts at once.
        var address = host.AddMailbox("raw-revoke@b.test");
        host.Store.Roles.AddDomainAdmin("b.test", address, "test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/b.test")).StatusCode);

        host.Store.Database.Execute("DELETE FROM domain_admins WHERE address=@a", ("@a", address));

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/domain/b.test")).StatusCode);
    }

    [Fact]
    public async Task GrantedRoleEndsTheSessionAndWorksAfterTheNextLogin()
    {
        var address = host.AddMailbox("promoted@a.test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/domain/a.test")).StatusCode);

        host.Store.Roles.AddDomainAdmin("a.test", address, "test");

        using var ended = await client.GetAsync("/domain/a.test");
        Assert.Equal("/login", client.RedirectTarget(ended));
        var again = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/domain/a.test")).StatusCode);
    }

    [Fact]
    public async Task ChangedPasswordEndsTheSession()
    {
        var address = host.AddMailbox("changed-password@a.test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);

        host.Store.Mailboxes.SetPasswordHash(address, PasswordHash.Create("a different password"));

        using var response = await client.GetAsync("/account/" + address);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(response));
    }

    [Fact]
    public async Task RemovedMailboxEndsTheSession()
    {
        var address = host.AddMailbox("removed@a.test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);

        host.Store.Mailboxes.RemoveMailbox(address);

        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(response));
    }

    [Fact]
    public async Task RemovedMailboxCannotPostWithAnEarlierToken()
    {
        var address = host.AddMailbox("removed-admin@a.test");
        host.Store.Roles.AddDomainAdmin("a.test", address, "test");
        var client = await host.SignInAsync(address);
        var token = await client.TokenAsync("/domain/a.test");

        host.Store.Mailboxes.RemoveMailbox(address);

        var before = PolicySnapshot.Take(host.Store);
        using var response = await client.PostRawAsync("/domain/a.test?handler=Outbound", [new("mandatory", "true"), new("__af", token)]);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(response));
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task SignOutEndsTheSession()
    {
        var address = host.AddMailbox("signs-out@a.test");
        var client = await host.SignInAsync(address);

        using var logout = await client.PostFormAsync("/logout");
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(logout));

        using var after = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(after));
    }
}
