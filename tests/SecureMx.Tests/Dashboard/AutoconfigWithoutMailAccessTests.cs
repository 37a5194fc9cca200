using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>Without IMAP or POP3 configured there is nothing a mail program could be set up with.</summary>
public sealed class AutoconfigWithoutMailAccessTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [Fact]
    public async Task AHostedDomainIsNotFoundWhenNoIncomingServiceIsConfigured()
    {
        using var response = await host.NewClient().GetAsync("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=user@a.test");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
