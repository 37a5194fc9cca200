using System.Net;
using SecureMx.Dashboard.Pages;
using SecureMx.Mail;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The route × role table of the dashboard contract, over HTTPS: anonymous → 302 to /login, signed in
/// but not allowed → 403 and nothing changed, allowed → 200 (GET) or 302 (POST, PRG).
/// </summary>
public sealed class DashboardAuthorizationTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    private static (string, string)[] Fields(string handler, string domain) => handler switch
    {
        "Inbound" => [("mandatory", "true"), ("confirm", "true")],
        "Outbound" => [("mandatory", "true")],
        "AccountOutbound" => [("address", "user@" + domain), ("mandatory", "true")],
        _ => throw new ArgumentOutOfRangeException(nameof(handler)),
    };

    private async Task<HttpStatusCode> StatusOf(Role role, string path)
    {
        var client = await host.As(role);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    /// <summary>POSTs with a valid token of the role's session; asserts the status and that no setting or role changed.</summary>
    private async Task<HttpResponseMessage> PostChangingNothing(Role role, string path, HttpStatusCode expected, params (string, string)[] fields)
    {
        var client = await host.As(role);
        var before = PolicySnapshot.Take(host.Store);
        var response = await client.PostFormWithTokenFromAsync(role == Role.Anonymous ? "/login" : "/", path, fields);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
        return response;
    }

    private void AssertNoServerErrors() => Assert.True(host.Errors.IsEmpty, string.Join("\n", host.Errors));

    // ---- anonymous ----

    [Theory]
    [InlineData("/")]
    [InlineData("/domain/a.test")]
    [InlineData("/domain/a.test?check=1")]
    [InlineData("/domain/not-hosted.test")]
    [InlineData("/account/user@a.test")]
    [InlineData("/log")]
    [InlineData("/log?account=user@a.test")]
    [InlineData("/queue")]
    [InlineData("/admin")]
    public async Task AnonymousGetRedirectsToLogin(string path)
    {
        var client = await host.As(Role.Anonymous);
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(response));
    }

    [Theory]
    [InlineData("/domain/a.test?handler=Inbound", "Inbound")]
    [InlineData("/domain/a.test?handler=Outbound", "Outbound")]
    [InlineData("/domain/a.test?handler=AccountOutbound", "AccountOutbound")]
    [InlineData("/account/user@a.test?handler=Outbound", "Outbound")]
    [InlineData("/admin?handler=Destination", null)]
    public async Task AnonymousPostRedirectsToLoginAndChangesNothing(string path, string? handler)
    {
        var fields = handler is null ? [("destination", "anon.example"), ("level", "verify")] : Fields(handler, "a.test");
        using var response = await PostChangingNothing(Role.Anonymous, path, HttpStatusCode.Redirect, fields);
        Assert.Equal("/login", (await host.As(Role.Anonymous)).RedirectTarget(response));
    }

    // ---- overview ----

    [Theory]
    [InlineData(Role.User)]
    [InlineData(Role.Other)]
    [InlineData(Role.AdminA)]
    [InlineData(Role.AdminB)]
    [InlineData(Role.Root)]
    public async Task OverviewIsOpenToEverySignedInUser(Role role)
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(role, "/"));
    }

    // ---- domain page ----

    [Theory]
    [InlineData(Role.AdminA, "a.test")]
    [InlineData(Role.Root, "a.test")]
    [InlineData(Role.AdminB, "b.test")]
    [InlineData(Role.Root, "b.test")]
    public async Task DomainPageIsOpenToItsAdministratorAndTheSystemAdmin(Role role, string domain)
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(role, "/domain/" + domain));
        AssertNoServerErrors();
    }

    [Theory]
    [InlineData(Role.User, "a.test")]
    [InlineData(Role.Other, "a.test")]
    [InlineData(Role.AdminB, "a.test")]
    [InlineData(Role.AdminA, "b.test")]
    [InlineData(Role.UserB, "b.test")]
    [InlineData(Role.UserB, "a.test")]
    [InlineData(Role.AdminB, "A.TEST")]
    [InlineData(Role.AdminB, "a.test.")]
    [InlineData(Role.AdminB, "%20a.test")]
    public async Task DomainPageIsForbiddenToEveryoneElse(Role role, string domain)
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, "/domain/" + domain));
    }

    [Theory]
    [InlineData(Role.User)]
    [InlineData(Role.AdminB)]
    public async Task DnsCheckOfADomainIsForbiddenToEveryoneElse(Role role)
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, "/domain/a.test?check=1"));
    }

    [Theory]
    [InlineData(Role.AdminA)]
    [InlineData(Role.Root)]
    public async Task DnsCheckOfADomainIsOpenToItsAdministratorAndTheSystemAdmin(Role role)
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(role, "/domain/a.test?check=1"));
        AssertNoServerErrors();
    }

    [Theory]
    [InlineData(Role.User, "Inbound")]
    [InlineData(Role.User, "Outbound")]
    [InlineData(Role.User, "AccountOutbound")]
    [InlineData(Role.Other, "Inbound")]
    [InlineData(Role.Other, "Outbound")]
    [InlineData(Role.Other, "AccountOutbound")]
    [InlineData(Role.AdminB, "Inbound")]
    [InlineData(Role.AdminB, "Outbound")]
    [InlineData(Role.AdminB, "AccountOutbound")]
    [InlineData(Role.UserB, "Outbound")]
    public async Task DomainHandlersAreForbiddenToEveryoneElseAndChangeNothing(Role role, string handler)
    {
        using var _ = await PostChangingNothing(role, "/domain/a.test?handler=" + handler, HttpStatusCode.Forbidden, Fields(handler, "a.test"));
        Assert.Equal(InboundTlsSetting.Opportunistic, host.Store.Policies.DomainInboundTls("a.test"));
    }

    [Theory]
    [InlineData(Role.AdminA, "a.test", "Outbound")]
    [InlineData(Role.AdminA, "a.test", "AccountOutbound")]
    [InlineData(Role.AdminA, "a.test", "Inbound")]
    [InlineData(Role.Root, "a.test", "Outbound")]
    [InlineData(Role.Root, "b.test", "AccountOutbound")]
    [InlineData(Role.AdminB, "b.test", "Outbound")]
    [InlineData(Role.AdminB, "b.test", "AccountOutbound")]
    public async Task DomainHandlersWorkForItsAdministratorAndTheSystemAdmin(Role role, string domain, string handler)
    {
        string? Setting() => handler switch
        {
            "Inbound" => host.Store.Policies.DomainInboundTls(domain)?.Name(),
            "Outbound" => host.Store.Policies.DomainOutboundTls(domain)?.Name(),
            _ => host.Store.Policies.MailboxOutboundTls("user@" + domain)?.Name(),
        };
        Assert.NotEqual("mandatory", Setting());
        var client = await host.As(role);
        try
        {
            using var response = await client.PostFormAsync($"/domain/{domain}?handler={handler}", Fields(handler, domain));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("mandatory", Setting()); // InboundMandatory and OutboundMandatory are both "mandatory"
            var audit = host.Store.Policies.PolicyAudit(domain, 1).Single();
            Assert.Equal("dashboard:" + DashboardTestHost.Addresses[role], audit.Actor);
        }
        finally
        {
            host.Store.Policies.SetInboundTls(domain, InboundTlsSetting.Opportunistic, "test");
            host.Store.Policies.SetDomainOutboundTls(domain, OutboundTlsSetting.Default, "test");
            host.Store.Policies.SetMailboxOutboundTls("user@" + domain, OutboundTlsSetting.Default, "test");
        }
    }

    [Theory]
    [InlineData(Role.AdminB, "/domain/b.test?handler=AccountOutbound", "user@a.test")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=AccountOutbound", "user@b.test")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=AccountOutbound", "USER@B.TEST")]
    [InlineData(Role.Root, "/domain/b.test?handler=AccountOutbound", "user@a.test")]
    public async Task AccountSwitchOfADomainPageOnlyReachesThatDomainsAccounts(Role role, string path, string address)
    {
        var client = await host.As(role);
        var before = PolicySnapshot.Take(host.Store);
        using var response = await client.PostFormAsync(path, ("address", address), ("mandatory", "true"));
        Assert.True((int)response.StatusCode is 400 or 403 or 404, $"POST {path} address={address} as {role}: {(int)response.StatusCode}, expected a refusal");
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Theory]
    [InlineData(Role.AdminA, "/domain/a.test?handler=Outbound&mandatory=true")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=Inbound&mandatory=true&confirm=true")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=AccountOutbound&address=user@a.test&mandatory=true")]
    [InlineData(Role.User, "/account/user@a.test?handler=Outbound&mandatory=true")]
    [InlineData(Role.Root, "/admin?handler=Destination&destination=get.example&level=verify")]
    public async Task GetRequestsNeverChangeASetting(Role role, string path)
    {
        // A link or an image must not switch anything (changes are POSTs with the antiforgery token).
        var before = PolicySnapshot.Take(host.Store);
        await StatusOf(role, path);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    // ---- not hosted ----

    [Theory]
    [InlineData(Role.AdminA)]
    [InlineData(Role.User)]
    public async Task DomainThatIsNotHostedIsForbiddenToNonSystemAdmins(Role role)
    {
        // The same answer as for a hosted domain of someone else: no existence leak.
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, "/domain/not-hosted.test"));
        using var _ = await PostChangingNothing(role, "/domain/not-hosted.test?handler=Outbound", HttpStatusCode.Forbidden, ("mandatory", "true"));
    }

    [Fact]
    public async Task DomainThatIsNotHostedIsNotFoundForTheSystemAdmin()
    {
        Assert.Equal(HttpStatusCode.NotFound, await StatusOf(Role.Root, "/domain/not-hosted.test"));
        using var _ = await PostChangingNothing(Role.Root, "/domain/not-hosted.test?handler=Outbound", HttpStatusCode.NotFound, ("mandatory", "true"));
    }

    // ---- account page ----

    [Theory]
    [InlineData(Role.User, "user@a.test")]
    [InlineData(Role.AdminA, "user@a.test")]
    [InlineData(Role.AdminA, "admin@a.test")]
    [InlineData(Role.Root, "user@a.test")]
    [InlineData(Role.Root, "user@b.test")]
    [InlineData(Role.AdminB, "user@b.test")]
    [InlineData(Role.UserB, "user@b.test")]
    public async Task AccountPageIsOpenToTheAccountItsDomainAdministratorAndTheSystemAdmin(Role role, string address)
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(role, "/account/" + address));
        AssertNoServerErrors();
    }

    [Theory]
    [InlineData(Role.User, "other@a.test")]
    [InlineData(Role.Other, "user@a.test")]
    [InlineData(Role.User, "admin@a.test")]
    [InlineData(Role.AdminB, "user@a.test")]
    [InlineData(Role.AdminA, "user@b.test")]
    [InlineData(Role.User, "ghost@a.test")]
    [InlineData(Role.AdminB, "ghost@a.test")]
    [InlineData(Role.User, "OTHER@A.TEST")]
    [InlineData(Role.User, "user+tag@a.test")]
    [InlineData(Role.AdminB, "user@A.test")]
    public async Task AccountPageIsForbiddenToEveryoneElse(Role role, string address)
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, "/account/" + address));
    }

    [Theory]
    [InlineData(Role.User, "other@a.test")]
    [InlineData(Role.Other, "user@a.test")]
    [InlineData(Role.AdminB, "user@a.test")]
    [InlineData(Role.AdminA, "user@b.test")]
    [InlineData(Role.UserB, "user@a.test")]
    public async Task AccountHandlerIsForbiddenToEveryoneElseAndChangesNothing(Role role, string address)
    {
        using var _ = await PostChangingNothing(role, $"/account/{address}?handler=Outbound", HttpStatusCode.Forbidden, ("mandatory", "true"));
    }

    [Theory]
    [InlineData(Role.User, "user@a.test")]
    [InlineData(Role.AdminA, "other@a.test")]
    [InlineData(Role.Root, "user@b.test")]
    public async Task AccountHandlerWorksForTheAccountItsDomainAdministratorAndTheSystemAdmin(Role role, string address)
    {
        Assert.Equal(OutboundTlsSetting.Default, host.Store.Policies.MailboxOutboundTls(address));
        var client = await host.As(role);
        try
        {
            using var response = await client.PostFormAsync($"/account/{address}?handler=Outbound", ("mandatory", "true"));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal(OutboundTlsSetting.Mandatory, host.Store.Policies.MailboxOutboundTls(address));
            Assert.Equal("dashboard:" + DashboardTestHost.Addresses[role], host.Store.Policies.PolicyAudit(address, 1).Single().Actor);
        }
        finally
        {
            host.Store.Policies.SetMailboxOutboundTls(address, OutboundTlsSetting.Default, "test");
        }
    }

    // ---- log and queue ----

    [Theory]
    [InlineData(Role.User, "/log")]
    [InlineData(Role.User, "/queue")]
    [InlineData(Role.AdminA, "/log")]
    [InlineData(Role.AdminA, "/queue")]
    [InlineData(Role.Root, "/log")]
    [InlineData(Role.Root, "/queue")]
    [InlineData(Role.User, "/log?account=user@a.test")]
    [InlineData(Role.AdminA, "/log?account=other@a.test")]
    [InlineData(Role.AdminA, "/queue?account=other@a.test")]
    [InlineData(Role.AdminA, "/log?domain=a.test")]
    [InlineData(Role.Root, "/log?account=user@b.test")]
    [InlineData(Role.Root, "/queue?domain=b.test")]
    public async Task LogAndQueueAreOpenWithinTheUsersScope(Role role, string path)
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(role, path));
        AssertNoServerErrors();
    }

    [Theory]
    [InlineData(Role.User, "/log?account=other@a.test")]
    [InlineData(Role.User, "/queue?account=other@a.test")]
    [InlineData(Role.User, "/log?account=user@b.test")]
    [InlineData(Role.AdminB, "/log?account=user@a.test")]
    [InlineData(Role.AdminB, "/queue?account=user@a.test")]
    [InlineData(Role.AdminA, "/log?domain=b.test")]
    [InlineData(Role.AdminA, "/queue?domain=b.test")]
    [InlineData(Role.AdminA, "/log?domain=not-hosted.test")]
    [InlineData(Role.User, "/log?account=OTHER@A.TEST")]
    [InlineData(Role.AdminB, "/queue?account=%20user@a.test")]
    [InlineData(Role.AdminA, "/log?domain=B.TEST")]
    public async Task LogAndQueueFiltersOutsideTheUsersScopeAreForbidden(Role role, string path)
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, path));
    }

    // ---- admin ----

    [Theory]
    [InlineData(Role.User)]
    [InlineData(Role.Other)]
    [InlineData(Role.AdminA)]
    [InlineData(Role.AdminB)]
    public async Task AdminPageIsForbiddenToAllButTheSystemAdmin(Role role)
    {
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOf(role, "/admin"));
        using var _ = await PostChangingNothing(role, "/admin?handler=Destination", HttpStatusCode.Forbidden, ("destination", "forbidden.example"), ("level", "verify"));
        Assert.Null(host.Store.Policies.DestinationTls("forbidden.example"));
    }

    [Fact]
    public async Task AdminPageAndDestinationHandlerWorkForTheSystemAdmin()
    {
        Assert.Equal(HttpStatusCode.OK, await StatusOf(Role.Root, "/admin"));
        var client = await host.As(Role.Root);
        try
        {
            using var set = await client.PostFormAsync("/admin?handler=Destination", ("destination", "allowed.example"), ("level", "verify"));
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
            Assert.Equal(OutboundTlsLevel.Verify, host.Store.Policies.DestinationTls("allowed.example"));
            Assert.Equal("dashboard:root@a.test", host.Store.Policies.PolicyAudit("allowed.example", 1).Single().Actor);
            using var remove = await client.PostFormAsync("/admin?handler=Destination", ("destination", "allowed.example"), ("level", AdminModel.RemoveLevel));
            Assert.Equal(HttpStatusCode.Redirect, remove.StatusCode);
            Assert.Null(host.Store.Policies.DestinationTls("allowed.example"));
        }
        finally
        {
            if (host.Store.Policies.DestinationTls("allowed.example") is not null) host.Store.Policies.SetDestinationTls("allowed.example", null, "test");
        }
        AssertNoServerErrors();
    }
}
