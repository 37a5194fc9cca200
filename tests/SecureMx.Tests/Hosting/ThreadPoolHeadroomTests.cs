using SecureMx.Config;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The thread pool's minimum that `serve` sets for Maildir deliveries, which block pool threads in fsync:
/// the cores plus delivery.localConcurrency, never lower than a minimum already in force, untouched with LMTP.
/// The minimum is this process's: each case puts back what was there.
/// </summary>
public sealed class ThreadPoolHeadroomTests
{
    private static void WithMinimum(int workers, Action act)
    {
        ThreadPool.GetMinThreads(out var beforeWorkers, out var beforePorts);
        Assert.True(ThreadPool.SetMinThreads(workers, beforePorts));
        try
        {
            act();
        }
        finally
        {
            ThreadPool.SetMinThreads(beforeWorkers, beforePorts);
        }
    }

    private static int MinimumWorkers()
    {
        ThreadPool.GetMinThreads(out var workers, out _);
        return workers;
    }

    [Fact]
    public void MaildirDeliveriesRaiseTheMinimumToTheCoresPlusTheLocalConcurrency() => WithMinimum(Environment.ProcessorCount, () =>
    {
        var options = new SecureMxOptions { Delivery = new DeliveryOptions { LocalConcurrency = 16 } };
        var wanted = Environment.ProcessorCount + 16;
        Assert.Equal(wanted, ThreadPoolHeadroom.Configure(options));
        Assert.Equal(wanted, MinimumWorkers());
        Assert.Contains($"at least {wanted} workers", ThreadPoolHeadroom.Decision);
        Assert.Contains("delivery.localConcurrency 16", ThreadPoolHeadroom.Decision);
    });

    [Fact]
    public void AHigherMinimumAlreadyInForceIsKept() => WithMinimum(Environment.ProcessorCount + 40, () =>
    {
        var options = new SecureMxOptions { Delivery = new DeliveryOptions { LocalConcurrency = 16 } };
        Assert.Equal(Environment.ProcessorCount + 40, ThreadPoolHeadroom.Configure(options));
        Assert.Equal(Environment.ProcessorCount + 40, MinimumWorkers());
        Assert.Contains("set by the environment or the runtime configuration", ThreadPoolHeadroom.Decision);
    });

    [Fact]
    public void DeliveriesThroughLmtpLeaveTheMinimumAlone() => WithMinimum(Environment.ProcessorCount, () =>
    {
        var options = new SecureMxOptions { Delivery = new DeliveryOptions { LocalConcurrency = 16, Lmtp = "127.0.0.1:24" } };
        Assert.Equal(Environment.ProcessorCount, ThreadPoolHeadroom.Configure(options));
        Assert.Equal(Environment.ProcessorCount, MinimumWorkers());
        Assert.Contains("LMTP", ThreadPoolHeadroom.Decision);
    });
}
