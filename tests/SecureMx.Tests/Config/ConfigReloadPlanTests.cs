using SecureMx.Config;

namespace SecureMx.Tests.Config;

/// <summary>What a reload may change in the running server, and what waits for a restart.</summary>
public sealed class ConfigReloadPlanTests
{
    [Fact]
    public void TheSameOptionsAreNoChange()
    {
        var plan = ConfigReloadPlan.Between(new SecureMxOptions { Hostname = "mx.example.test" }, new SecureMxOptions { Hostname = "mx.example.test" });

        Assert.Empty(plan.Changes);
    }

    [Fact]
    public void SessionLimitsAndQueueTimingAreReloadedListenersAreNot()
    {
        var running = new SecureMxOptions { Hostname = "mx.example.test" };
        var next = new SecureMxOptions { Hostname = "mx.example.test" };
        next.Limits.MaxRecipients = 7;
        next.Limits.CommandTimeoutSeconds = 60;
        next.Queue.RetrySchedule = "1m,2m";
        next.Listeners.Mx = "127.0.0.1:2600";
        next.Delivery.RemoteConcurrency = 3;

        var plan = ConfigReloadPlan.Between(running, next);

        Assert.Equal(["limits.maxRecipients", "limits.commandTimeoutSeconds", "queue.retrySchedule"], plan.Applied.Select(c => c.Key));
        Assert.Equal(["delivery.remoteConcurrency", "listeners.mx"], plan.NeedRestart.Select(c => c.Key).Order());
        var mx = plan.NeedRestart.Single(c => c.Key == "listeners.mx");
        Assert.Equal(("127.0.0.1:2525", "127.0.0.1:2600"), (mx.Old, mx.New));
        Assert.Equal(7, plan.Limits.MaxRecipients);
        Assert.Equal(60, plan.Limits.CommandTimeoutSeconds);
        Assert.Equal("1m,2m", plan.Queue.RetrySchedule);
    }

    [Fact]
    public void LimitsReadAtStartKeepTheirRunningValues()
    {
        var running = new SecureMxOptions { Hostname = "mx.example.test" };
        var next = new SecureMxOptions { Hostname = "mx.example.test" };
        next.Limits.MaxConnections = 9;
        next.Limits.MaxConnectionsPerIp = 2;
        next.Limits.MinFreeDiskMb = 1;
        next.Limits.ShutdownGraceSeconds = 1;
        next.Limits.MaxMessageSize = 4096;

        var plan = ConfigReloadPlan.Between(running, next);

        Assert.Equal(["limits.maxMessageSize"], plan.Applied.Select(c => c.Key));
        Assert.Equal(4, plan.NeedRestart.Count());
        Assert.Equal(4096, plan.Limits.MaxMessageSize);
        Assert.Equal(running.Limits.MaxConnections, plan.Limits.MaxConnections);
        Assert.Equal(running.Limits.MaxConnectionsPerIp, plan.Limits.MaxConnectionsPerIp);
        Assert.Equal(running.Limits.MinFreeDiskMb, plan.Limits.MinFreeDiskMb);
        Assert.Equal(running.Limits.ShutdownGraceSeconds, plan.Limits.ShutdownGraceSeconds);
    }

    [Fact]
    public void ThePlannedSectionsAreNewObjectsNotTheFilesOrTheRunningOnes()
    {
        var running = new SecureMxOptions { Hostname = "mx.example.test" };
        var next = new SecureMxOptions { Hostname = "mx.example.test" };

        var plan = ConfigReloadPlan.Between(running, next);

        Assert.NotSame(running.Limits, plan.Limits);
        Assert.NotSame(next.Limits, plan.Limits);
        Assert.NotSame(next.Queue, plan.Queue);
    }

    [Theory]
    [InlineData("limits.maxMessageSize", true)]
    [InlineData("limits.tlsHandshakeTimeoutSeconds", true)]
    [InlineData("queue.expireAfter", true)]
    [InlineData("limits.maxConnections", false)]
    [InlineData("limits.shutdownGraceSeconds", false)]
    [InlineData("listeners.submission", false)]
    [InlineData("tls.certificate", false)]
    [InlineData("hostname", false)]
    [InlineData("dns", false)]
    [InlineData("delivery.defaultTlsLevel", false)]
    public void ReloadableKeys(string key, bool reloadable) => Assert.Equal(reloadable, ConfigReloadPlan.IsReloadable(key));
}
