using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SecureMx.Hosting;

/// <summary>
/// SIGHUP (<c>systemctl reload securemx</c>, whose ExecReload sends it) reloads the instance instead
/// of ending the process. The reload runs off the signal handler, one at a time.
/// </summary>
public sealed class ReloadSignalService(InstanceReloader reloader, ILogger<ReloadSignalService> log) : IHostedService, IDisposable
{
    private PosixSignalRegistration? _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // not the default action, which ends the process
            _ = Task.Run(() =>
            {
                try
                {
                    reloader.Reload("SIGHUP");
                }
                catch (Exception ex)
                {
                    // A reload must never take the server down.
                    log.LogError(ex, "reload (SIGHUP) failed; the server keeps running as it was");
                }
            });
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _registration = null;
    }
}
