using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SecureMx.Hosting;

/// <summary>
/// SIGHUP (<c>systemctl reload securemx</c>, whose ExecReload sends it) reloads the instance instead
/// of ending the process. The handler is registered when this object is made — by <c>serve</c> before
/// it builds the host — so that a SIGHUP while the server starts never takes the default action (the
/// end of the process): it is queued and the reload runs once every hosted service has started. The
/// reload runs off the signal handler, one at a time; a SIGHUP while the server stops is ignored.
/// </summary>
public sealed class ReloadSignalService : IHostedService, IDisposable
{
    private readonly object _gate = new();
    private PosixSignalRegistration? _registration;
    private Action<string>? _reload;
    private ILogger _log = NullLogger.Instance;
    private bool _started;
    private bool _stopping;
    private bool _pending;

    /// <summary>Registers the SIGHUP handler at once.</summary>
    public ReloadSignalService()
    {
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // not the default action, which ends the process
            Signal();
        });
    }

    /// <summary>What a SIGHUP does once the server has started.</summary>
    public ReloadSignalService Use(InstanceReloader reloader, ILogger log) => Use(trigger => reloader.Reload(trigger), log);

    /// <inheritdoc cref="Use(InstanceReloader, ILogger)"/>
    public ReloadSignalService Use(Action<string> reload, ILogger log)
    {
        lock (_gate)
        {
            _reload = reload;
            _log = log;
        }
        return this;
    }

    /// <summary>True while a SIGHUP received during start-up waits for the start to finish.</summary>
    public bool Pending
    {
        get { lock (_gate) return _pending; }
    }

    /// <summary>What the handler does: a reload now, or queued until the start has finished.</summary>
    public void Signal()
    {
        lock (_gate)
        {
            if (_stopping) return;
            if (!_started || _reload is null)
            {
                _pending = true;
                return;
            }
        }
        RunReload();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        bool pending;
        lock (_gate)
        {
            _started = true;
            pending = _pending;
            _pending = false;
        }
        if (pending)
        {
            _log.LogInformation("reload (SIGHUP): received while the server was starting; reloading now");
            RunReload();
        }
        return Task.CompletedTask;
    }

    private void RunReload()
    {
        Action<string>? reload;
        ILogger log;
        lock (_gate)
        {
            reload = _reload;
            log = _log;
        }
        if (reload is null) return;
        _ = Task.Run(() =>
        {
            try
            {
                reload("SIGHUP");
            }
            catch (Exception ex)
            {
                // A reload must never take the server down.
                log.LogError(ex, "reload (SIGHUP) failed; the server keeps running as it was");
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_gate) _stopping = true; // the handler stays registered until disposed: a late SIGHUP does not end the stop
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _registration = null;
    }
}
