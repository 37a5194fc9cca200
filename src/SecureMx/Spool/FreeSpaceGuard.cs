using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Telemetry;

namespace SecureMx.Spool;

/// <summary>
/// The free-space floor of the spool's file system (<c>limits.minFreeDiskMb</c>, Postfix's
/// <c>queue_minfree</c>): below it a new transaction is refused at MAIL FROM with 452 4.3.1, before
/// any byte is transferred, so that a nearly full disk stops taking mail cleanly instead of failing
/// transfers half-way; the queue goes on delivering, and DSNs (small, and losing one is worse than
/// keeping it) enter the spool regardless. The floor is the configured size or 5 % of the file system,
/// whichever is smaller: on a small file system the configured size could be more than it holds. A
/// declared <c>SIZE=</c> that would take the free space below the floor is refused the same way
/// (RFC 1870 §6.1). statvfs(2) is asked at most once per <see cref="CacheFor"/>, not for every
/// command; each answer goes to the metrics, and crossing the floor is logged once each way.
/// </summary>
public sealed class FreeSpaceGuard
{
    /// <summary>One statvfs(2) of the spool's file system and the floor that applies to it.</summary>
    public sealed record Reading(long FreeBytes, long TotalBytes, long FloorBytes, DateTimeOffset At)
    {
        public bool BelowFloor => FreeBytes < FloorBytes;
    }

    /// <summary>How long a measurement is used before the file system is asked again.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    /// <summary>The floor never exceeds this share of the file system's size.</summary>
    public const double MaxShareOfFileSystem = 0.05;

    private readonly long _minFreeBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<string, (long Free, long Total)> _measure;
    private readonly Lock _gate = new();
    private Reading? _last;
    private bool _wasBelow;

    /// <summary>The directory whose file system is watched (the spool's root).</summary>
    public string Path { get; }

    /// <param name="minFreeDiskMb">limits.minFreeDiskMb; 0 turns the guard off.</param>
    /// <param name="measure">Free bytes (for an unprivileged user) and total bytes of the file system of a path; statvfs(2) when null. Tests give their own.</param>
    public FreeSpaceGuard(string path, long minFreeDiskMb, TimeProvider time, ILogger log, Func<string, (long Free, long Total)>? measure = null)
    {
        Path = path;
        _minFreeBytes = Math.Max(0, minFreeDiskMb) * 1024 * 1024;
        _time = time;
        _log = log;
        _measure = measure ?? StatVfs;
    }

    /// <summary>A guard that never refuses (limits.minFreeDiskMb = 0; the CLI and tests that do not care).</summary>
    public static FreeSpaceGuard Off(string path) => new(path, 0, TimeProvider.System, NullLogger.Instance);

    public bool Enabled => _minFreeBytes > 0;

    private static (long Free, long Total) StatVfs(string path)
    {
        // On Linux DriveInfo takes any path and asks statvfs(2) for the file system it lies on.
        var drive = new DriveInfo(path);
        return (drive.AvailableFreeSpace, drive.TotalSize);
    }

    /// <summary>
    /// The current reading, measured again when the last one is older than <see cref="CacheFor"/>;
    /// null when the guard is off or the file system cannot be asked (then nothing is refused for it:
    /// a real full disk is still answered 452 by the transfer itself).
    /// </summary>
    public Reading? Read()
    {
        if (!Enabled) return null;
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_last is { } fresh && now - fresh.At < CacheFor) return fresh;
            long free, total;
            try
            {
                (free, total) = _measure(Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                _log.LogWarning("free space of {Path} cannot be measured ({Error}); the free-space guard lets mail in", Path, ex.Message);
                _last = null;
                return null;
            }
            var reading = new Reading(free, total, Math.Min(_minFreeBytes, (long)(total * MaxShareOfFileSystem)), now);
            _last = reading;
            SecureMxMetrics.SpoolFreeBytes.Record(free);
            SecureMxMetrics.SpoolBelowFreeFloor.Record(reading.BelowFloor ? 1 : 0);
            if (reading.BelowFloor != _wasBelow)
            {
                _wasBelow = reading.BelowFloor;
                if (reading.BelowFloor)
                {
                    _log.LogWarning("free space on the file system of {Path} is {Free} MiB, below the floor of {Floor} MiB (limits.minFreeDiskMb): new mail is refused with 452 4.3.1 until space returns",
                        Path, free / 1024 / 1024, reading.FloorBytes / 1024 / 1024);
                }
                else
                {
                    _log.LogInformation("free space on the file system of {Path} is {Free} MiB again, above the floor of {Floor} MiB: mail is accepted",
                        Path, free / 1024 / 1024, reading.FloorBytes / 1024 / 1024);
                }
            }
            return reading;
        }
    }

    /// <summary>
    /// For the metrics: the spool gauges from a fresh reading, also with the guard off (limits.minFreeDiskMb 0)
    /// — a disk filling up is worth an alert whether or not mail is refused for it. Never throws.
    /// </summary>
    public void Publish()
    {
        if (Enabled)
        {
            Read(); // records both gauges
            return;
        }
        try
        {
            SecureMxMetrics.SpoolFreeBytes.Record(_measure(Path).Free);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // not measurable now: the gauge keeps its last value
        }
    }

    /// <summary>Whether a new transaction may start: free space above the floor, also after <paramref name="declaredSize"/> bytes (MAIL FROM's SIZE=).</summary>
    public bool Admits(long? declaredSize = null) =>
        Read() is not { } r || (!r.BelowFloor && r.FreeBytes - (declaredSize ?? 0) >= r.FloorBytes);
}
