using System.Net;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// Roles and the password are read at every request: a revoked role, a changed password or a removed
/// mailbox take effect at the next request of an open session. Each test uses its own mailbox.
/// </summary>
public sealed class DashboardSessionTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [Fact]
    public async Task RevokedDomainAdminRoleStopsWorkingAtTheNextRequest()
    {
        var address = host.AddMailbox("revoked-admin@b.test");
        host.Store.Roles.AddDomainAdmin("b.test", address, "test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/b.test")).StatusCode);
        var token = await client.TokenAsync();

        host.Store.Roles.RemoveDomainAdmin("b.test", address, "test");

        using var get = await client.GetAsync("/domain/b.test");
        Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        var before = PolicySnapshot.Take(host.Store);
        using var post = await client.PostRawAsync("/domain/b.test?handler=Outbound", [new("mandatory", "true"), new("__af", token)]);
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
        // Still signed in: only the role is gone.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task RevokedSystemAdminRoleStopsWorkingAtTheNextRequest()
    {
        var address = host.AddMailbox("revoked-root@b.test");
        host.Store.Roles.AddSystemAdmin(address, "test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/a.test")).StatusCode);

        host.Store.Roles.RemoveSystemAdmin(address, "test");

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/domain/a.test")).StatusCode);
    }

    [Fact]
    public async Task GrantedRoleWorksAtTheNextRequestWithoutNewLogin()
    {
        var address = host.AddMailbox("promoted@a.test");
        var client = await host.SignInAsync(address);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/domain/a.test")).StatusCode);

        host.Store.Roles.AddDomainAdmin("a.test", address, "test");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/domain/a.test")).StatusCode);
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
