using System.Net;
using System.Xml.Linq;
using SecureMx.Dashboard;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The autoconfig file over HTTPS without a login: for hosted domains only, by the address's domain or
/// by the autoconfig.DOMAIN host name, the same for every address of a domain, and hostile input is a
/// 400 or a 404, never an error of the server.
/// </summary>
public sealed class AutoconfigEndpointTests(MailAccessDashboardHost host) : IClassFixture<MailAccessDashboardHost>
{
    private const string WellKnown = "/.well-known/autoconfig/mail/config-v1.1.xml";
    private const string Subdomain = "/mail/config-v1.1.xml";

    private static string Query(string address) => "?emailaddress=" + Uri.EscapeDataString(address);

    private async Task<HttpResponseMessage> GetAsync(string path, string? hostHeader = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (hostHeader is not null) request.Headers.Host = hostHeader;
        return await host.NewClient().SendAsync(request);
    }

    private static async Task<XElement> ProviderAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xml", response.Content.Headers.ContentType?.MediaType);
        var doc = XDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return doc.Root!.Element("emailProvider")!;
    }

    private static string Server(XElement e) =>
        $"{(string?)e.Attribute("type")} {(string?)e.Element("hostname")}:{(string?)e.Element("port")} {(string?)e.Element("socketType")} {(string?)e.Element("username")} {(string?)e.Element("authentication")}";

    [Theory]
    [InlineData(WellKnown)]
    [InlineData(Subdomain)]
    public async Task AHostedDomainGetsItsConfiguredServicesWithoutALogin(string path)
    {
        using var response = await GetAsync(path + Query("user@a.test"));
        var provider = await ProviderAsync(response);

        Assert.Equal("a.test", (string?)provider.Attribute("id"));
        Assert.Equal("a.test", (string?)provider.Element("domain"));
        Assert.Equal(
        [
            $"imap {MailAccessDashboardHost.MailHost}:993 SSL %EMAILADDRESS% password-cleartext",
            $"pop3 {MailAccessDashboardHost.MailHost}:995 SSL %EMAILADDRESS% password-cleartext",
        ], provider.Elements("incomingServer").Select(Server));
        Assert.Equal(
        [
            $"smtp {MailAccessDashboardHost.MailHost}:2465 SSL %EMAILADDRESS% password-cleartext",
            $"smtp {MailAccessDashboardHost.MailHost}:2587 STARTTLS %EMAILADDRESS% password-cleartext",
        ], provider.Elements("outgoingServer").Select(Server));
    }

    [Fact]
    public async Task WithoutAnAddressTheDomainComesFromTheAutoconfigHostName()
    {
        using var response = await GetAsync(Subdomain, "autoconfig.b.test");
        Assert.Equal("b.test", (string?)(await ProviderAsync(response)).Attribute("id"));
        using var wellKnown = await GetAsync(WellKnown, "b.test:443");
        Assert.Equal("b.test", (string?)(await ProviderAsync(wellKnown)).Attribute("id"));
    }

    [Fact]
    public async Task TheAddressDecidesOverTheHostNameSoTheProvidersOwnNameServesEveryDomain()
    {
        using var response = await GetAsync(Subdomain + Query("someone@b.test"), "autoconfig.provider.test");
        Assert.Equal("b.test", (string?)(await ProviderAsync(response)).Attribute("id"));
    }

    [Fact]
    public async Task EveryAddressOfADomainGetsTheSameBytesWhetherItsMailboxExistsOrNot()
    {
        using var existing = await GetAsync(WellKnown + Query("user@a.test"));
        using var missing = await GetAsync(WellKnown + Query("no-such-mailbox@a.test"));
        using var odd = await GetAsync(WellKnown + Query("Some.One+tag@A.TEST"));
        var bytes = await existing.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(bytes, await missing.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal(bytes, await odd.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.DoesNotContain("user@", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData(WellKnown + "?emailaddress=user@elsewhere.test", null)]
    [InlineData(WellKnown + "?emailaddress=user@b.test.elsewhere.test", null)]
    [InlineData(Subdomain, "autoconfig.elsewhere.test")]
    [InlineData(Subdomain, "127.0.0.1")]
    [InlineData(Subdomain, "[::1]:443")]
    [InlineData(Subdomain, "autoconfig.")]
    [InlineData(Subdomain, "autoconfig")]
    [InlineData(WellKnown + "?emailaddress=user@%E2%80%AEa.test", null)] // an IDN of a right-to-left mark, not a.test
    [InlineData(WellKnown, null)] // the dashboard's own address names no domain
    public async Task AnythingButAHostedDomainIsNotFound(string path, string? hostHeader)
    {
        using var response = await GetAsync(path, hostHeader);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(host.Errors);
    }

    public static TheoryData<string> Garbage() =>
    [
        "?emailaddress=" + new string('a', 2000) + "@a.test",
        "?emailaddress=no-at-sign",
        "?emailaddress=user@",
        "?emailaddress=@a.test",
        "?emailaddress=user@[127.0.0.1]",
        "?emailaddress=user@a.test%00",
        "?emailaddress=user@a..test",
        "?emailaddress=user@-a.test",
        "?emailaddress=user@a.test&emailaddress=user@b.test",
        "?emailaddress=%3Cscript%3E@%3Cscript%3E",
    ];

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task AGarbledAddressIsABadRequest(string query)
    {
        using var response = await GetAsync(WellKnown + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("<script>", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task OnlyGetIsServed()
    {
        using var response = await host.NewClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, WellKnown + Query("user@a.test")));
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}");
    }

    [Theory]
    [InlineData("user@a.test", null, "a.test", false)]
    [InlineData("User@A.Test", null, "a.test", false)]
    [InlineData("user@bücher.example", null, "xn--bcher-kva.example", false)]
    [InlineData(null, "autoconfig.a.test", "a.test", false)]
    [InlineData(null, "AUTOCONFIG.A.TEST.", "a.test", false)]
    [InlineData(null, "a.test", "a.test", false)]
    [InlineData(null, null, null, false)]
    [InlineData(null, "", null, false)]
    [InlineData("", "autoconfig.a.test", "a.test", false)]
    [InlineData("not an address", "autoconfig.a.test", null, true)]
    public void TheDomainOfARequest(string? address, string? hostName, string? domain, bool malformed) =>
        Assert.Equal((domain, malformed), AutoconfigEndpoint.DomainOf(address is null ? default : new(address), hostName));
}
