using System.Net;
using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.TestKit;

namespace SecureMx.Tests.Dashboard;

/// <summary>When the dashboard sends Strict-Transport-Security (dashboard.hsts).</summary>
public sealed class StrictTransportSecurityTests
{
    [Fact]
    public void AutoSendsItOnlyOverHttpsWithACertificateACaIssued()
    {
        using var issued = TestCertificates.IssuedByPrivateCa("dashboard.example.test");
        using var selfSigned = TestCertificates.SelfSigned("dashboard.example.test");

        Assert.True(StrictTransportSecurity.Applies(HstsSetting.Auto, https: true, issued.Leaf));
        Assert.False(StrictTransportSecurity.Applies(HstsSetting.Auto, https: true, selfSigned.Leaf));
        Assert.False(StrictTransportSecurity.Applies(HstsSetting.Auto, https: false, issued.Leaf));
        Assert.False(StrictTransportSecurity.Applies(HstsSetting.Auto, https: false, null));
    }

    [Fact]
    public void TrueAndFalseDecideWhateverTheCertificate()
    {
        using var issued = TestCertificates.IssuedByPrivateCa("dashboard.example.test");
        using var selfSigned = TestCertificates.SelfSigned("dashboard.example.test");

        Assert.True(StrictTransportSecurity.Applies(HstsSetting.On, https: true, selfSigned.Leaf));
        Assert.True(StrictTransportSecurity.Applies(HstsSetting.On, https: false, null)); // behind a local TLS proxy
        Assert.False(StrictTransportSecurity.Applies(HstsSetting.Off, https: true, issued.Leaf));
    }

    [Theory]
    [InlineData("auto", HstsSetting.Auto)]
    [InlineData("true", HstsSetting.On)]
    [InlineData("True", HstsSetting.On)]   // how an environment or command-line override arrives
    [InlineData("false", HstsSetting.Off)]
    [InlineData(" FALSE ", HstsSetting.Off)]
    public void TheSettingIsAutoTrueOrFalse(string text, HstsSetting expected)
    {
        Assert.True(HstsSettings.TryParse(text, out var setting));
        Assert.Equal(expected, setting);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("on")]
    public void AnythingElseIsRefused(string text) => Assert.False(HstsSettings.TryParse(text, out _));
}

/// <summary>dashboard.hsts = true on the test host's self-signed certificate.</summary>
public sealed class HstsOnDashboardHost : DashboardTestHost
{
    protected override void Configure(SecureMxOptions options) => options.Dashboard.Hsts = "true";
}

/// <summary>The header on the wire: on every response when switched on; not by default with a self-signed certificate.</summary>
public sealed class StrictTransportSecurityHeaderTests(HstsOnDashboardHost on) : IClassFixture<HstsOnDashboardHost>
{
    [Fact]
    public async Task SwitchedOnEveryResponseCarriesIt()
    {
        foreach (var path in new[] { "/login", "/", "/dashboard.css", "/no-such-page" })
        {
            using var response = await on.NewClient().GetAsync(path);
            Assert.True(response.Headers.TryGetValues("Strict-Transport-Security", out var values), $"{path}: {(int)response.StatusCode}");
            Assert.Equal("max-age=31536000", Assert.Single(values));
        }
    }

    [Fact]
    public async Task ByDefaultASelfSignedDashboardDoesNotSendIt()
    {
        var host = new DashboardTestHost();
        await host.InitializeAsync();
        try
        {
            Assert.Equal("auto", host.Options.Dashboard.Hsts);
            using var response = await host.NewClient().GetAsync("/login");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}
