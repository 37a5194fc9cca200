using SecureMx.Config;

namespace SecureMx.Tests.Dashboard;

/// <summary>The shared AUTH throttle blocks a client address after 3 failures here.</summary>
public sealed class IpThrottledDashboardHost : DashboardTestHost
{
    public const int MaxFailuresPerIp = 3;

    protected override void Configure(SecureMxOptions options) => options.Auth.MaxFailuresPerIp = MaxFailuresPerIp;
}
