using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>The server's console log: the console logger's formats and filters, its lines written in batches.</summary>
public sealed class BatchedConsoleLoggerProviderTests
{
    /// <summary>The formatters as the logging builder registers them (the simple one as ServerHost configures it).</summary>
    private static IReadOnlyList<ConsoleFormatter> Formatters()
    {
        var services = new ServiceCollection().AddLogging(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        })).BuildServiceProvider();
        return services.GetServices<ConsoleFormatter>().ToList();
    }

    private static string Logged(string? formatterName, Action<ILogger> log)
    {
        var output = new MemoryStream();
        using (var provider = new BatchedConsoleLoggerProvider(formatterName, Formatters(), new ConsoleLineWriter(output, TimeSpan.FromSeconds(10))))
        {
            log(provider.CreateLogger("SecureMx.Smtp"));
        } // disposing writes what is pending
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Fact]
    public void ALineComesOutAsTheConsoleLoggerWritesIt()
    {
        var text = Logged("simple", log => log.LogInformation("{Id}: from=<{Sender}>", "06H4VVX", "a@client.test"));
        Assert.Equal("info: SecureMx.Smtp[0] 06H4VVX: from=<a@client.test>" + Environment.NewLine, text);
    }

    [Fact]
    public void UnderSystemdTheJournalsFormatIsUsed()
    {
        // AddSystemd sets the console logger's FormatterName to "systemd" when it runs as a service.
        var text = Logged(ConsoleFormatterNames.Systemd, log => log.LogWarning("disk nearly full"));
        Assert.Equal("<4>SecureMx.Smtp[0] disk nearly full" + Environment.NewLine, text);
    }

    [Fact]
    public void AnExceptionIsWrittenWithItsLine()
    {
        var text = Logged("simple", log => log.LogError(new IOException("No space left on device"), "storage failed"));
        Assert.StartsWith("fail: SecureMx.Smtp[0] storage failed System.IO.IOException: No space left on device", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheServerHostLogsThroughItInsteadOfTheConsoleLogger()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        using var host = ServerHost.Build(data, ConfigLoader.Load(data), TimeProvider.System);
        try
        {
            var providers = host.Services.GetServices<ILoggerProvider>().ToList();
            Assert.Contains(providers, p => p is BatchedConsoleLoggerProvider { FormatterName: "simple" });
            Assert.DoesNotContain(providers, p => p is ConsoleLoggerProvider);
        }
        finally
        {
            host.Services.GetService<SecureMx.Store.StoreDatabase>()?.ReleasePooledConnections();
        }
    }
}
