using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>`serve` as ServerHost wires it removes what a delivery killed before its rename left in a Maildir's tmp/.</summary>
public sealed class ServerHostMaildirCleanupTests
{
    [Fact]
    public async Task ServeRemovesTmpLeftoversOlderThan36Hours()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var tmp = Path.Combine(data, "mail", "example.test", "alice", "tmp");
        Directory.CreateDirectory(tmp);
        var leftover = Path.Combine(tmp, "1700000000.M1P1Q1.mx.example.test");
        await File.WriteAllTextAsync(leftover, "a delivery killed before its rename", TestContext.Current.CancellationToken);
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(37));

        using var host = ServerHost.Build(data, ConfigLoader.Load(data), later);
        // Only the cleanup is started: the listeners stay closed.
        var cleanup = host.Services.GetServices<IHostedService>().SingleOrDefault(s => s.GetType().Name == "MaildirTmpCleanupService");
        Assert.NotNull(cleanup);
        await cleanup.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (File.Exists(leftover) && DateTime.UtcNow < deadline) await Task.Delay(10, TestContext.Current.CancellationToken);
            Assert.False(File.Exists(leftover));
        }
        finally
        {
            await cleanup.StopAsync(CancellationToken.None);
            host.Services.GetService<SecureMx.Store.StoreDatabase>()?.ReleasePooledConnections();
        }
    }
}
