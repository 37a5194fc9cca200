using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// Watches tls.certificate and tls.key and reloads the pair when they changed (a renewal by certbot
/// or any other tool), without a signal. Polling rather than inotify: certbot replaces symbolic links
/// in /etc/letsencrypt/live whose targets change, which a watch on the link's directory does not
/// follow. The state of each file is <see cref="CertificateFileState"/> (link target, time, length, mode,
/// content digest); a change is acted on only once it has held for one more poll (the tool writes the
/// two files one after the other). A pair that was refused (a key that does not match yet, a file the
/// server may not read yet) is tried again at every poll, as a deploy hook may fix it with a chmod or
/// chown alone; its error is logged once per state of the files and reason, not every poll.
/// </summary>
public sealed class CertificateFileWatch(ServerCertificateSource source, TimeProvider time, ILogger<CertificateFileWatch> log, string? dataDirectory = null) : BackgroundService
{
    /// <summary>How often the two files are looked at: a renewal is in use within two to three of these.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private string _seen = "";
    private string _handled = "";
    private bool _refused;         // the last reload was refused: retried at every poll
    private string? _refusalLogged; // state + reason of the refusal last logged

    /// <summary>
    /// The state the watch starts from: the files as the pair in use was loaded from (taken by
    /// <see cref="ServerCertificateSource.Load"/>), so that a renewal during start-up is picked up.
    /// </summary>
    public void Start()
    {
        _seen = _handled = source.LoadedState.Length > 0 ? source.LoadedState : State();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (source.CertificateFile.Length == 0) return;
        Start();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) Poll();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One look at the files; the reload it made, if any.</summary>
    public CertificateReload? Poll()
    {
        var state = State();
        if (state != _seen)
        {
            _seen = state; // changed: wait until it holds for one more poll
            return null;
        }
        if (state == _handled && !_refused) return null;
        _handled = state;
        var result = source.Reload();
        _refused = result.Outcome == CertificateReloadOutcome.Refused;
        if (_refused)
        {
            // Retried every poll: one line per state of the files and reason, not one every two seconds.
            var key = state + "|" + result.Reason;
            if (key != _refusalLogged) CertificateReloadLog.Write(log, result, source, "file change");
            _refusalLogged = key;
            return result;
        }
        _refusalLogged = null;
        CertificateReloadLog.Write(log, result, source, "file change");
        if (dataDirectory is not null) NextKeyRetirement.AfterReload(dataDirectory, result, log);
        return result;
    }

    private string State() => CertificateFileState.Of(source.CertificateFile, source.KeyFile);
}
