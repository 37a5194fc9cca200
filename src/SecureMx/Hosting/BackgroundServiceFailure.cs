using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SecureMx.Hosting;

/// <summary>
/// A background service whose failure stopped the host. On .NET 10 the host then stops as after SIGTERM
/// and <c>RunAsync</c> returns normally (.NET 11 makes it throw): <c>serve</c> must exit non-zero itself, or
/// a service manager that restarts on failure (systemd <c>Restart=on-failure</c>) leaves the MTA down.
/// </summary>
public sealed record BackgroundServiceFailure(string Service, Exception Error)
{
    /// <summary>
    /// The first background service of <paramref name="host"/> that ended with an exception; null when none did.
    /// The host must not be disposed yet (<c>RunAsync</c> disposes it: use <c>StartAsync</c> and <c>WaitForShutdownAsync</c>).
    /// </summary>
    public static BackgroundServiceFailure? Of(IHost host)
    {
        foreach (var service in host.Services.GetServices<IHostedService>())
        {
            if (service is BackgroundService { ExecuteTask: { IsFaulted: true } task })
                return new BackgroundServiceFailure(service.GetType().Name, task.Exception!.InnerException ?? task.Exception);
        }
        return null;
    }
}
