using System.Net;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.MtaSts;

namespace SecureMx.Tests.Dashboard;

/// <summary>The domain page with the MTA-STS listener on, and an ordinary and a secure MX of their own names.</summary>
public sealed class MtaStsDashboardHost : DashboardTestHost
{
    protected override void Configure(SecureMxOptions options)
    {
        options.Hostname = "mx.provider.test";
        options.SecureMxHostname = "secure.provider.test";
        options.Listeners.MtaSts = "127.0.0.1:8444";
    }
}

/// <summary>
/// The MTA-STS switch of the domain page: who may change it (like the other switches), the
/// confirmation enforce needs, the audit, and the records shown with the policy's id.
/// </summary>
public sealed class DomainMtaStsSwitchTests(MtaStsDashboardHost host) : IClassFixture<MtaStsDashboardHost>
{
    private string? Mode(string domain) => host.Store.Policies.DomainMtaSts(domain)?.MtaStsMode;

    private void Reset(string domain)
    {
        host.Store.Policies.SetDomainMtaStsMode(domain, "none", "test");
        host.Store.Policies.SetInboundTls(domain, InboundTlsSetting.Opportunistic, "test");
    }

    private async Task<HttpResponseMessage> PostAs(Role role, string domain, params (string, string)[] fields)
    {
        var client = await host.As(role);
        return await client.PostFormWithTokenFromAsync(role == Role.Anonymous ? "/login" : "/", $"/domain/{domain}?handler=MtaSts", fields);
    }

    [Theory]
    [InlineData(Role.User)]
    [InlineData(Role.Other)]
    [InlineData(Role.AdminB)]
    [InlineData(Role.UserB)]
    public async Task TheSwitchIsForbiddenToEveryoneElseAndChangesNothing(Role role)
    {
        var before = PolicySnapshot.Take(host.Store);
        using var response = await PostAs(role, "a.test", ("mode", "testing"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
        Assert.Equal("none", Mode("a.test"));
    }

    [Fact]
    public async Task AnAnonymousPostGoesToTheLoginAndChangesNothing()
    {
        var before = PolicySnapshot.Take(host.Store);
        using var response = await PostAs(Role.Anonymous, "a.test", ("mode", "testing"));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", (await host.As(Role.Anonymous)).RedirectTarget(response));
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Theory]
    [InlineData(Role.AdminA, "a.test")]
    [InlineData(Role.Root, "b.test")]
    [InlineData(Role.AdminB, "b.test")]
    public async Task ItsAdministratorAndTheSystemAdminSwitchToTestingAudited(Role role, string domain)
    {
        try
        {
            using var response = await PostAs(role, domain, ("mode", "testing"));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("testing", Mode(domain));
            var audit = host.Store.Policies.PolicyAudit(domain, 1).Single();
            Assert.Equal(("dashboard:" + DashboardTestHost.Addresses[role], "mta_sts_mode", "none", "testing"), (audit.Actor, audit.Setting, audit.OldValue, audit.NewValue));
        }
        finally
        {
            Reset(domain);
        }
    }

    [Fact]
    public async Task EnforceNeedsTheConfirmation()
    {
        try
        {
            var client = await host.As(Role.AdminA);
            using (var refused = await client.PostFormAsync("/domain/a.test?handler=MtaSts", ("mode", "enforce")))
            {
                Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
                Assert.Contains("id=\"mta-sts-error\"", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            }
            Assert.Equal("none", Mode("a.test"));
            using var done = await client.PostFormAsync("/domain/a.test?handler=MtaSts", ("mode", "enforce"), ("confirm", "true"));
            Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
            Assert.Equal("enforce", Mode("a.test"));
        }
        finally
        {
            Reset("a.test");
        }
    }

    [Theory]
    [InlineData("strict")]
    [InlineData("")]
    public async Task AnUnknownModeIsABadRequest(string mode)
    {
        var before = PolicySnapshot.Take(host.Store);
        using var response = await PostAs(Role.AdminA, "a.test", ("mode", mode), ("confirm", "true"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task AGetNeverSwitches()
    {
        var client = await host.As(Role.AdminA);
        using var _ = await client.GetAsync("/domain/a.test?handler=MtaSts&mode=enforce&confirm=true");
        Assert.Equal("none", Mode("a.test"));
    }

    [Fact]
    public async Task ThePageShowsTheRecordsOnlyWithAPolicyAndTheIdFollowsTheInboundSwitch()
    {
        try
        {
            var client = await host.As(Role.AdminA);
            var none = await client.GetPageAsync("/domain/a.test");
            Assert.Contains("data-state=\"none\"", none);
            Assert.Contains("id=\"mta-sts-no-records\"", none);
            Assert.DoesNotContain("id=\"mta-sts-record\"", none);

            host.Store.Policies.SetDomainMtaStsMode("a.test", "testing", "test");
            var opportunistic = HostedMtaStsPolicy.For("a.test", MtaStsMode.Testing, false, host.Options);
            var page = await client.GetPageAsync("/domain/a.test");
            Assert.Contains("data-state=\"testing\"", page);
            Assert.Contains($"_mta-sts.a.test. IN TXT &quot;v=STSv1; id={opportunistic.Id};&quot;", page);
            Assert.Contains("mta-sts.a.test. IN CNAME mx.provider.test.", page);
            Assert.Contains("secure.provider.test, mx.provider.test", page);

            host.Store.Policies.SetInboundTls("a.test", InboundTlsSetting.Mandatory, "test");
            var mandatory = HostedMtaStsPolicy.For("a.test", MtaStsMode.Testing, true, host.Options);
            Assert.NotEqual(opportunistic.Id, mandatory.Id);
            page = await client.GetPageAsync("/domain/a.test");
            Assert.Contains($"id={mandatory.Id};", page);
            Assert.DoesNotContain(opportunistic.Id, page);
        }
        finally
        {
            Reset("a.test");
        }
    }

    [Fact]
    public async Task TheAuditNamesTheSettingInGerman()
    {
        try
        {
            host.Store.Policies.SetDomainMtaStsMode("a.test", "enforce", "test");
            var client = await host.SignInAsync(DashboardTestHost.Addresses[Role.AdminA], "de");
            var page = await client.GetPageAsync("/domain/a.test");
            Assert.Contains("keine → enforce", page);
            Assert.Contains("MTA-STS: Absender zu TLS verpflichten", page);
        }
        finally
        {
            Reset("a.test");
        }
    }
}
