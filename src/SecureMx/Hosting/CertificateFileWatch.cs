using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// Watches tls.certificate and tls.key and reloads the pair when they changed (a renewal by certbot
/// or any other tool), without a signal. Polling rather than inotify: certbot replaces symbolic links
/// in /etc/letsencrypt/live whose targets change, which a watch on the link's directory does not
/// follow. The state of each file is its final link target, modification time and length; a change
/// is acted on only once it has held for one more poll (the tool writes the two files one after the
/// other), and a pair whose key does not match yet is refused and tried again at the next change.
/// </summary>
public sealed class CertificateFileWatch(ServerCertificateSource source, TimeProvider time, ILogger<CertificateFileWatch> log) : BackgroundService
{
    /// <summary>How often the two files are looked at: a renewal is in use within two to three of these.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private string _seen = "";
    private string _handled = "";

    /// <summary>The state the watch starts from: the files as the pair in use was loaded from.</summary>
    public void Start()
    {
        _seen = _handled = State();
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
        if (state == _handled) return null;
        _handled = state;
        var result = source.Reload();
        CertificateReloadLog.Write(log, result, source, "file change");
        return result;
    }

    private string State() => $"{FileState(source.CertificateFile)}|{FileState(source.KeyFile)}";

    private static string FileState(string path)
    {
        try
        {
            var target = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            var info = new FileInfo(target);
            return info.Exists ? $"{target}:{info.LastWriteTimeUtc.Ticks}:{info.Length}" : "missing";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unreadable:" + ex.GetType().Name;
        }
    }
}
