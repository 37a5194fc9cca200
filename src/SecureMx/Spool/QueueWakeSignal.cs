namespace SecureMx.Spool;

/// <summary>
/// How a command in another process (`securemx queue retry`) tells a running server to look at the
/// queue now instead of at its next poll (up to 5 s later): it touches a file in <c>spool/wake/</c>,
/// which the server watches (inotify). A directory of its own, so that the queue database's writes
/// raise no events. Best effort both ways: without the signal the server still finds the change at
/// its next poll.
/// <para>Each signal writes a new token into the file. `queue retry` signals before its change of the due
/// times as well as after, and the scheduler reads the token after each read of the due mail
/// (<c>QueueRunner.LookForDueMail</c>): a look that sees the retry's due times sees a new token, and ends
/// the destinations' suspensions before it hands the mail to the workers, even when the watcher's event
/// comes later. Without it a look between the change and the event deferred that mail again, as
/// suspended, by its retry schedule.</para>
/// </summary>
public sealed class QueueWakeSignal : IDisposable
{
    private const string FileName = "retry";
    private readonly FileSystemWatcher? _watcher;

    private QueueWakeSignal(FileSystemWatcher? watcher) => _watcher = watcher;

    public static string DirectoryOf(string spoolRoot) => Path.Combine(spoolRoot, "wake");

    /// <summary>Calls <paramref name="wake"/> whenever another process signals; a watcher that cannot be set up is no watcher.</summary>
    public static QueueWakeSignal Watch(string spoolRoot, Action wake)
    {
        try
        {
            var dir = DirectoryOf(spoolRoot);
            Directory.CreateDirectory(dir);
            var watcher = new FileSystemWatcher(dir, FileName) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName };
            watcher.Changed += (_, _) => wake();
            watcher.Created += (_, _) => wake();
            watcher.EnableRaisingEvents = true;
            return new QueueWakeSignal(watcher);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException)
        {
            return new QueueWakeSignal(null); // e.g. the inotify watch limit: the poll remains
        }
    }

    /// <summary>Wakes a running server of this spool, if any. Never throws: the change is in the database either way.</summary>
    public static void Signal(string spoolRoot)
    {
        try
        {
            var dir = DirectoryOf(spoolRoot);
            if (!Directory.Exists(dir)) return; // no server has watched this spool
            File.WriteAllText(Path.Combine(dir, FileName), Guid.NewGuid().ToString("N"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The last signal's token; null when there is none or it cannot be read (the watcher's event remains).</summary>
    public static string? Token(string spoolRoot)
    {
        var path = Path.Combine(DirectoryOf(spoolRoot), FileName);
        // Every look asks, and until the first `queue retry` there is no file: no exception for that.
        if (!File.Exists(path)) return null;
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => _watcher?.Dispose();
}
