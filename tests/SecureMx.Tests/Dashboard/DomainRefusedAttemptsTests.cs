using System.Net;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The refused-mail report on the domain page: shown to the domain's admins and the system admins only,
/// the attempts and the count per host, hidden while nothing was refused and mandatory TLS is off, and
/// the digest switch (antiforgery, admins only).
/// </summary>
public sealed class DomainRefusedAttemptsTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>, IAsyncLifetime
{
    private RefusedAttemptRepository Refused => new(host.Store.Database);

    public async ValueTask InitializeAsync()
    {
        if (Refused.Attempts("a.test", DateTimeOffset.UtcNow.AddDays(-30)).Count > 0) return; // one fixture for the class
        host.Store.Policies.SetInboundTls("a.test", InboundTlsSetting.Mandatory, "test");
        var logs = new RefusedLogs(host.Store, TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        RefusedLogs.Rcpt(logs.Session(now.AddHours(-2), "192.0.2.1", "mx.plain.test", reverseName: "mx.plain.test"), "a@plain.test", "user@a.test");
        RefusedLogs.Rcpt(logs.Session(now.AddHours(-1), "198.51.100.7", "<script>x</script>", "TLSv1.2", RefusedLogs.Cbc12), "", "other@a.test");
        RefusedLogs.Rcpt(logs.Session(now.AddDays(-40), "203.0.113.9", "old.test"), "a@old.test", "user@a.test");
        RefusedLogs.Rcpt(logs.Session(now.AddHours(-1), "203.0.113.5", "b.sender.test"), "x@y.test", "user@b.test");
        await logs.WriteAsync();
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Theory]
    [InlineData(Role.AdminA)]
    [InlineData(Role.Root)]
    public async Task TheDomainsAdminsSeeTheAttemptsNewestFirstAndTheCountPerHost(Role role)
    {
        var html = await (await host.As(role)).GetPageAsync("/domain/a.test");
        var section = html[html.IndexOf("id=\"refused-attempts\"", StringComparison.Ordinal)..];
        Assert.Contains("data-total=\"2\"", section);
        Assert.Contains("data-ip=\"192.0.2.1\"", section);
        Assert.Contains("data-ip=\"198.51.100.7\"", section);
        Assert.DoesNotContain("203.0.113.9", section); // older than 30 days
        Assert.DoesNotContain("203.0.113.5", section); // another domain's
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", section); // the sender's HELO is text, never markup
        Assert.DoesNotContain("<script>x", section);
        var list = section[section.IndexOf("id=\"refused-list\"", StringComparison.Ordinal)..];
        Assert.True(list.IndexOf("data-lacked=\"cipher\"", StringComparison.Ordinal) < list.IndexOf("data-lacked=\"no-tls\"", StringComparison.Ordinal), "newest first");
        Assert.Contains("mx.plain.test", list);
        Assert.Contains("&lt;&gt; (bounce)", list);
    }

    [Theory]
    [InlineData(Role.AdminB)]
    [InlineData(Role.User)]
    [InlineData(Role.UserB)]
    public async Task NobodyElseSeesThem(Role role)
    {
        using var response = await (await host.As(role)).GetAsync("/domain/a.test");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("192.0.2.1", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task TheSectionIsHiddenWithoutMandatoryTlsOrRefusals()
    {
        var html = await (await host.As(Role.AdminB)).GetPageAsync("/domain/b.test");
        Assert.Contains("data-total=\"1\"", html); // refused while it was on: still shown
        host.Store.Database.Execute("DELETE FROM inbound_recipients WHERE recipient_domain = 'b.test'");
        html = await (await host.As(Role.AdminB)).GetPageAsync("/domain/b.test");
        Assert.DoesNotContain("id=\"refused-attempts\"", html);
    }

    [Fact]
    public async Task TheSectionIsInGerman()
    {
        var client = await host.SignInAsync(DashboardTestHost.Addresses[Role.AdminA], "de");
        var html = WebUtility.HtmlDecode(await client.GetPageAsync("/domain/a.test"));
        Assert.Contains("Abgewiesen wegen verpflichtendem TLS", html);
        Assert.Contains("Je sendendem Server", html);
    }

    [Theory]
    [InlineData(Role.AdminB)]
    [InlineData(Role.User)]
    public async Task TheDigestSwitchIsForbiddenToOthers(Role role)
    {
        var client = await host.As(role);
        using var response = await client.PostFormWithTokenFromAsync("/", "/domain/a.test?handler=RefusedDigest", ("on", "true"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(Refused.DigestOn("a.test"));
    }

    [Fact]
    public async Task TheAdminSwitchesTheDigestOnAndOffAndAPostWithoutTokenChangesNothing()
    {
        var client = await host.As(Role.AdminA);
        using (var raw = await client.PostRawAsync("/domain/a.test?handler=RefusedDigest", [new("on", "true")]))
        {
            Assert.Equal(HttpStatusCode.BadRequest, raw.StatusCode);
            Assert.False(Refused.DigestOn("a.test"));
        }
        using (var on = await client.PostFormWithTokenFromAsync("/", "/domain/a.test?handler=RefusedDigest", ("on", "true")))
        {
            Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
            Assert.True(Refused.DigestOn("a.test"));
        }
        Assert.Contains("id=\"refused-digest-state\" data-state=\"on\"", await client.GetPageAsync("/domain/a.test"));
        using (var off = await client.PostFormWithTokenFromAsync("/", "/domain/a.test?handler=RefusedDigest", ("on", "false")))
        {
            Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
            Assert.False(Refused.DigestOn("a.test"));
        }
    }
}
