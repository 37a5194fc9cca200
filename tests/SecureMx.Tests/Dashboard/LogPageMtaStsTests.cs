using System.Net;
using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>A delivery log with a delivery verified by MTA-STS and one that would have failed its recipient's policy (mode testing).</summary>
public sealed class MtaStsLogHost : DashboardTestHost
{
    public const string Failure = "certificate-not-trusted: certificate of mx.testing-sts.example[192.0.2.31] not valid for the MTA-STS policy of testing-sts.example (testing, id 1)";

    protected override Task SeedAsync()
    {
        var now = TimeProvider.System.GetUtcNow();
        Store.DeliveryLog.Append([
            new DeliveryLogEntry(now.AddMinutes(-5), "sts-0", "user@a.test", "user@a.test", "rcpt@enforce-sts.example", "mx.enforce-sts.example", "192.0.2.30",
                "delivered", 250, "2.0.0", "ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "mta-sts"),
            new DeliveryLogEntry(now.AddMinutes(-4), "sts-1", "user@a.test", "user@a.test", "rcpt@testing-sts.example", "mx.testing-sts.example", "192.0.2.31",
                "delivered", 250, "2.0.0", "ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "encrypted") { MtaStsFailure = Failure },
        ]);
        Store.DeliveryLog.Flush();
        return Task.CompletedTask;
    }
}

/// <summary>The Log page's verification mta-sts: its label (English and German), its filter value, and a recorded MTA-STS failure.</summary>
public sealed class LogPageMtaStsTests(MtaStsLogHost host) : IClassFixture<MtaStsLogHost>
{
    [Fact]
    public async Task TheFilterMtaStsShowsOnlyMtaStsDeliveriesWithTheirLabel()
    {
        var client = await host.As(Role.User);
        var html = await client.GetPageAsync("/log?tls=mta-sts");
        Assert.Contains("<option value=\"mta-sts\" selected=\"selected\">MTA-STS-verified</option>", html);
        Assert.Contains("enforce-sts.example", html);
        Assert.DoesNotContain("testing-sts.example", html);
        Assert.Contains("<span class=\"status ok\">MTA-STS-verified</span>", html);
    }

    [Fact]
    public async Task AWouldBeFailureOfModeTestingIsShownBesideTheVerification()
    {
        var client = await host.As(Role.User);
        var html = WebUtility.HtmlDecode(await client.GetPageAsync("/log"));
        Assert.Contains("mta-sts: " + MtaStsLogHost.Failure, html);
    }

    [Fact]
    public async Task TheGermanLabelIsPerMtaStsGeprueft()
    {
        var client = await host.SignInAsync(DashboardTestHost.Addresses[Role.User], "de");
        var html = WebUtility.HtmlDecode(await client.GetPageAsync("/log?tls=mta-sts"));
        Assert.Contains(">per MTA-STS geprüft</span>", html);
    }
}
