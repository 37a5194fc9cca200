namespace SecureMx.Tests.Dashboard;

/// <summary>Without Dovecot configured (mailAccess empty) only sending is listed.</summary>
public sealed class MailClientSettingsWithoutMailAccessTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [Fact]
    public async Task OnlyTheSubmissionListenersAreListed()
    {
        var html = await (await host.As(Role.User)).GetPageAsync("/account/user@a.test");
        Assert.Contains("data-service=\"submissions\"", html);
        Assert.Contains("data-service=\"submission\"", html);
        Assert.DoesNotContain("data-service=\"imap", html);
        Assert.DoesNotContain("data-service=\"pop3", html);
    }
}
