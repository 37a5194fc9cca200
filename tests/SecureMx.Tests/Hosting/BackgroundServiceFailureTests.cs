using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// A background service that fails stops the host, and waiting for its shutdown returns as after a signal:
/// <see cref="BackgroundServiceFailure"/> tells the two apart, so that <c>serve</c> exits 1 (and the
/// service manager restarts it) instead of 0.
/// </summary>
public sealed class BackgroundServiceFailureTests
{
    private sealed class Failing : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("the queue database cannot be read");
        }
    }

    private sealed class Waiting : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken);
    }

    private static IHost Host(params Func<IServiceProvider, IHostedService>[] services)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.ClearProviders();
        foreach (var service in services) builder.Services.AddSingleton(service);
        return builder.Build();
    }

    [Fact]
    public async Task AServiceThatFailedAndStoppedTheHostIsNamedWithItsError()
    {
        using var host = Host(_ => new Waiting(), _ => new Failing());

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.WaitForShutdownAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var failure = BackgroundServiceFailure.Of(host);
        Assert.NotNull(failure);
        Assert.Equal("Failing", failure.Service);
        Assert.Equal("the queue database cannot be read", Assert.IsType<InvalidOperationException>(failure.Error).Message);
    }

    [Fact]
    public async Task AHostStoppedOnRequestHasNoFailure()
    {
        using var host = Host(_ => new Waiting());
        await host.StartAsync(TestContext.Current.CancellationToken);

        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.Null(BackgroundServiceFailure.Of(host));
    }
}
