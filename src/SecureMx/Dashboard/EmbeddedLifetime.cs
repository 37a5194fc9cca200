using Microsoft.Extensions.Hosting;

namespace SecureMx.Dashboard;

/// <summary>
/// The dashboard runs inside the mail server's host, which owns SIGTERM/SIGINT and the shutdown
/// order; the web application must not react to the signals on its own (as ConsoleLifetime would).
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
