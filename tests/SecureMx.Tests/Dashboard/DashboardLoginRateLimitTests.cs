using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>dashboard.loginAttemptsPerMinute caps the attempts of one client address, right or wrong.</summary>
public sealed class DashboardLoginRateLimitTests(RateLimitedDashboardHost host) : IClassFixture<RateLimitedDashboardHost>
{
    [Fact]
    public async Task AttemptsBeyondThePerMinuteLimitAre429EvenWithTheRightPassword()
    {
        // Different accounts: the per-account AUTH throttle must not be what stops them.
        for (var i = 0; i < RateLimitedDashboardHost.AttemptsPerMinute; i++)
        {
            using var attempt = await host.NewClient().LoginAsync($"nobody{i}@a.test", "wrong");
            Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        }

        var client = host.NewClient();
        using var limited = await client.LoginAsync("user@a.test", DashboardTestHost.Password);
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Contains("Too many login attempts", await limited.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        using var after = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
    }
}
