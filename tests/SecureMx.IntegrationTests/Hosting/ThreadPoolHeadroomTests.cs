using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Hosting;

/// <summary>
/// serve raises the thread pool's minimum for the Maildir deliveries (which block pool threads in fsync) to the
/// cores plus delivery.localConcurrency, and keeps an operator's higher minimum; mail flows either way.
/// </summary>
public sealed class ThreadPoolHeadroomTests
{
    [Fact]
    public async Task ServeGivesTheMaildirDeliveriesAWorkerEach()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.StartAsync();
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "pool-headroom")).Acknowledged);
        await mx.WaitForMessageAsync("alice@example.test", "pool-headroom");

        // The instance's delivery.localConcurrency is the default, 16.
        await mx.WaitForLogAsync($"thread pool: at least {Environment.ProcessorCount + 16} workers ({Environment.ProcessorCount} cores + delivery.localConcurrency 16");
    }

    [Fact]
    public async Task TheOperatorsHigherMinimumIsKept()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        mx.Environment["DOTNET_ThreadPool_ForceMinWorkerThreads"] = "0x40"; // the runtime reads it in hexadecimal: 64
        await mx.StartAsync();
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "operator-minimum")).Acknowledged);
        await mx.WaitForMessageAsync("alice@example.test", "operator-minimum");

        await mx.WaitForLogAsync("thread pool: at least 64 workers (set by the environment or the runtime configuration");
    }
}
