using System.Net;
using SecureMx.Dashboard;

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

    [Fact]
    public void AnIpv6ClientIsLimitedPerSlash64AndAnIpv4MappedOneAsItsIpv4Address()
    {
        using var limiter = new LoginRateLimiter(2);
        Assert.True(limiter.TryAcquire("2001:db8:1:2::1"));
        Assert.True(limiter.TryAcquire("2001:db8:1:2::2"));
        Assert.False(limiter.TryAcquire("2001:db8:1:2:ffff::3"));
        Assert.True(limiter.TryAcquire("2001:db8:1:3::1"));

        Assert.True(limiter.TryAcquire("192.0.2.1"));
        Assert.True(limiter.TryAcquire("::ffff:192.0.2.1"));
        Assert.False(limiter.TryAcquire("192.0.2.1"));
        Assert.True(limiter.TryAcquire("unknown"));
    }
}
