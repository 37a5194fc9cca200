using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>`serve` as ServerHost wires it: a SIGHUP between the build and the start is queued, not the end of the process.</summary>
public sealed class ServerHostReloadSignalTests
{
    [Fact]
    public async Task ASighupBeforeTheHostStartedReloadsOnceStartedInsteadOfEndingTheProcess()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var options = ConfigLoader.Load(data);
        using var host = ServerHost.Build(data, options, TimeProvider.System);
        var cfgPath = Path.Combine(data, ConfigLoader.FileName);
        var cfg = JsonNode.Parse(await File.ReadAllTextAsync(cfgPath, TestContext.Current.CancellationToken))!;
        cfg["limits"] ??= new JsonObject();
        cfg["limits"]!["maxRecipients"] = 2;
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString(), TestContext.Current.CancellationToken);

        // A real SIGHUP to this process while the host is built but not started (the default action would end the test run).
        using (var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString()])) await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.NotEqual(2, options.Limits.MaxRecipients); // not before the start

        var signal = host.Services.GetServices<IHostedService>().OfType<ReloadSignalService>().Single();
        await signal.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (options.Limits.MaxRecipients != 2 && DateTime.UtcNow < deadline) await Task.Delay(10, TestContext.Current.CancellationToken);
            Assert.Equal(2, options.Limits.MaxRecipients);
        }
        finally
        {
            await signal.StopAsync(CancellationToken.None);
            host.Services.GetService<SecureMx.Store.StoreDatabase>()?.ReleasePooledConnections();
        }
    }
}
