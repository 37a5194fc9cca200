using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>SIGHUP from the moment serve begins: during start-up it is queued, never the end of the process.</summary>
public sealed class ReloadSignalServiceTests
{
    [Fact]
    public async Task ASighupBeforeTheStartIsQueuedAndReloadsOnceStarted()
    {
        var reloads = new List<string>();
        using var service = new ReloadSignalService().Use(t => { lock (reloads) reloads.Add(t); }, NullLogger.Instance);

        // A real SIGHUP to this process: with the handler not yet registered it would end the test run.
        using (var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString()])) await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!service.Pending && DateTime.UtcNow < deadline) await Task.Delay(10, TestContext.Current.CancellationToken);
        Assert.True(service.Pending, "the SIGHUP was not queued");
        lock (reloads) Assert.Empty(reloads);

        await service.StartAsync(TestContext.Current.CancellationToken);
        while (DateTime.UtcNow < deadline)
        {
            lock (reloads) if (reloads.Count > 0) break;
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        lock (reloads) Assert.Equal(["SIGHUP"], reloads);
        Assert.False(service.Pending);
    }

    [Fact]
    public async Task ASighupWhileStoppingIsIgnored()
    {
        var reloads = 0;
        using var service = new ReloadSignalService().Use(_ => Interlocked.Increment(ref reloads), NullLogger.Instance);
        await service.StartAsync(TestContext.Current.CancellationToken);
        await service.StopAsync(TestContext.Current.CancellationToken);

        service.Signal();

        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Equal(0, Volatile.Read(ref reloads));
        Assert.False(service.Pending);
    }
}
