using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Hosting;

/// <summary>
/// What /health answers for a load balancer: ready when every listener is bound (the host has
/// started and is not stopping), the store and the queue database can be written, the spool's
/// directories take a new file, and the spool's file system is above its free-space floor. Each
/// answer is kept for <see cref="CacheFor"/>, so that a polling balancer costs one check per second
/// at most. Never throws: a check that fails is a reason.
/// </summary>
/// <param name="store">The store: when it is shared (PostgreSQL), not a readiness condition.</param>
public sealed class Readiness(string dataDirectory, MessageSpool spool, Func<bool> started, Func<bool> stopping, TimeProvider time, StoreDatabase? store = null)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private (DateTimeOffset At, IReadOnlyList<string> Reasons)? _last;

    /// <summary>Empty when ready; else short reasons, each naming what is wrong.</summary>
    public IReadOnlyList<string> Check()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_last is { } last && now - last.At < CacheFor) return last.Reasons;
            var reasons = Evaluate();
            _last = (now, reasons);
            return reasons;
        }
    }

    private List<string> Evaluate()
    {
        var reasons = new List<string>();
        if (stopping()) reasons.Add("stopping");
        else if (!started()) reasons.Add("starting: listeners not all bound yet");
        // A shared store (PostgreSQL) that is gone does not make the node unready: it serves from its
        // cached directory (docs/ARCHITECTURE.md, "The directory cache"), and every node would go out of
        // the balancer together. securemx_store_directory_age tells how old its copy is.
        if (store is not { IsShared: true } && SqliteWriteProbe.Check(Path.Combine(dataDirectory, StoreDatabase.FileName)) is { } storeProblem)
            reasons.Add("store: " + storeProblem);
        if (SqliteWriteProbe.Check(spool.Queue.DatabasePath) is { } queue) reasons.Add("queue: " + queue);
        foreach (var dir in new[] { spool.IncomingDirectory, spool.DataDirectory })
        {
            if (ProbeDirectory(dir) is { } problem) reasons.Add($"spool: {Path.GetFileName(dir)}: {problem}");
        }
        // Read() never throws: a file system it cannot ask is no reading (and no refusal) there too.
        if (spool.FreeSpace.Read() is { BelowFloor: true } r)
            reasons.Add($"spool: {r.FreeBytes / 1024 / 1024} MiB free, below the floor of {r.FloorBytes / 1024 / 1024} MiB (limits.minFreeDiskMb)");
        return reasons;
    }

    /// <summary>Creates, writes and removes a small file: a read-only or vanished directory answers why.</summary>
    private static string? ProbeDirectory(string dir)
    {
        var probe = Path.Combine(dir, $".health-{Environment.ProcessId}");
        try
        {
            using (var f = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None)) f.WriteByte(0);
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "not writable: " + ex.Message;
        }
    }
}
