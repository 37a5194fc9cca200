using System.Net;
using SecureMx.Dashboard;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The dashboard of a node whose PostgreSQL is stopped (a real server, stopped and started again): a
/// signed-in page and a login answer 503 with a page that says the store is unreachable, never a 500 or
/// the login page; once the server is back, the same cookie works again.
/// </summary>
public sealed class DashboardStoreUnreachableTests(PostgresDashboardHost host) : IClassFixture<PostgresDashboardHost>
{
    [Fact]
    public async Task WhileThePostgresStoreIsStoppedPagesAndTheLoginAnswer503AndTheSessionResumesAfterwards()
    {
        var root = await host.SignInAsync(DashboardTestHost.Addresses[Role.Root]);
        Assert.Contains("Administration", await root.GetPageAsync("/admin"), StringComparison.Ordinal);

        host.StopServer();
        try
        {
            using var page = await root.GetAsync("/log");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(StoreUnreachablePage.RetryAfterSeconds), page.Headers.RetryAfter?.Delta);
            Assert.Contains("The store is unreachable", await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

            using var login = await host.NewClient().LoginAsync(DashboardTestHost.Addresses[Role.User], DashboardTestHost.Password);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
            Assert.Contains("try again in a minute", await login.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
        finally
        {
            host.Server.Start();
        }

        // Back: a request may still meet a pooled connection the stop broke, or the store's short hold
        // after an unreachable connect (503 again, for at most a few seconds), then the same cookie works.
        var back = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var again = await root.GetAsync("/admin");
            if (again.StatusCode == HttpStatusCode.OK) break;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(15), "the dashboard did not come back after the store did");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        Assert.Empty(host.Errors);
    }
}
