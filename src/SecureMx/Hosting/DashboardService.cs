using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Dashboard;

namespace SecureMx.Hosting;

/// <summary>
/// Starts the dashboard on listeners.dashboard (unless "off") before the SMTP listeners open, so
/// that a port that cannot be bound stops the start like any other listener (all or nothing).
/// </summary>
public sealed class DashboardService(Func<DashboardDependencies> dependencies, SecureMxOptions options, ILogger<DashboardService> log) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.Parse(options.Listeners.Dashboard, "listeners.dashboard") is not { } ep) return;
        _app = await WebEndpoint.StartAsync(DashboardServer.Build(dependencies()), "listeners.dashboard", ep, cancellationToken);
        log.LogInformation("dashboard listening on {Scheme}://{Endpoint}/", options.Dashboard.PlainHttp ? "http" : "https", ep);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _app = null;
    }
}
