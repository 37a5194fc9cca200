using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>`serve` runs the daily TLS report sending unless tlsReporting.send is false.</summary>
public sealed class ServerHostTlsReportTests
{
    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public void TheDailySendingRunsOnlyWhenTlsReportingSendIsOn(bool send, int services)
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var options = ConfigLoader.Load(data);
        options.TlsReporting.Send = send;

        using var host = ServerHost.Build(data, options, TimeProvider.System);
        try
        {
            Assert.Equal(services, host.Services.GetServices<IHostedService>().Count(s => s is TlsReportService));
        }
        finally
        {
            host.Services.GetService<StoreDatabase>()?.ReleasePooledConnections();
        }
    }
}
