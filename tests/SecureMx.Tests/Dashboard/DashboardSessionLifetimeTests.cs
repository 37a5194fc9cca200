using System.Net;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;

namespace SecureMx.Tests.Dashboard;

/// <summary>A dashboard on a fake clock, with a 2-hour absolute session lifetime and the default 30-minute idle timeout.</summary>
public sealed class FakeClockDashboardHost : DashboardTestHost
{
    public const string MaxLifetime = "2h";

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public override TimeProvider Time => Clock;

    protected override void Configure(SecureMxOptions options) => options.Dashboard.SessionMaxLifetime = MaxLifetime;
}

/// <summary>
/// Sliding renewal keeps an active session alive only up to dashboard.sessionMaxLifetime: after that
/// the login page, however recently the cookie was renewed. The idle timeout still ends it earlier.
/// </summary>
public sealed class DashboardSessionLifetimeTests(FakeClockDashboardHost host) : IClassFixture<FakeClockDashboardHost>
{
    [Fact]
    public async Task AnActiveSessionEndsAtItsAbsoluteLifetimeDespiteSlidingRenewal()
    {
        var address = host.AddMailbox("busy@a.test");
        var client = await host.SignInAsync(address);
        var page = "/account/" + address;
        var renewals = 0;
        var cookie = client.Cookies.GetCookies(host.BaseAddress)["__Host-securemx"]!.Value;

        // A request every 20 minutes for 1 h 40 min: each renews the 30-minute cookie, the session stays.
        for (var i = 0; i < 5; i++)
        {
            host.Clock.Advance(TimeSpan.FromMinutes(20));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(page)).StatusCode);
            var now = client.Cookies.GetCookies(host.BaseAddress)["__Host-securemx"]!.Value;
            if (now != cookie) renewals++;
            cookie = now;
        }
        Assert.True(renewals >= 3, $"the cookie was renewed {renewals} times"); // sliding renewal is at work

        host.Clock.Advance(TimeSpan.FromMinutes(19));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(page)).StatusCode); // 1 h 59 min
        host.Clock.Advance(TimeSpan.FromMinutes(1));

        using var ended = await client.GetAsync(page); // 2 h: the absolute lifetime
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(ended));
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task AnIdleSessionStillEndsAfterTheIdleTimeout()
    {
        var address = host.AddMailbox("idle@a.test");
        var client = await host.SignInAsync(address);

        host.Clock.Advance(TimeSpan.FromMinutes(31));

        using var ended = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        Assert.Equal("/login", client.RedirectTarget(ended));
    }
}
