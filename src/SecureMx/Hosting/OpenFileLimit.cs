using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SecureMx.Smtp;

namespace SecureMx.Hosting;

/// <summary>
/// The open-file limit (RLIMIT_NOFILE) as a budget the SMTP listeners stay inside. A process out of descriptors
/// cannot even start a thread: the .NET runtime then aborts with "Out of memory." (seen with the limit reached and
/// the sessions busy), and Kestrel's accept loops retry EMFILE without a pause (a core at 100 % while a scraper
/// waits). So the listeners hold at most what the limit leaves once everything else has its share: the
/// descriptors open when they start (assemblies, databases, logs, listening sockets), one per delivery in flight,
/// the web listeners' connection caps, the store's connection pool, a <see cref="Headroom"/> for what opens later
/// and the connections being refused (<see cref="ConnectionLimiter.DefaultRefusalAllowance"/>). A larger
/// <c>limits.maxConnections</c> is lowered to that, with a warning at start (HAProxy derives its maxconn from
/// the limit the same way). The .NET runtime raises the soft limit to the hard one when it starts (CoreCLR's
/// platform layer), so the hard limit is what counts.
/// </summary>
public static partial class OpenFileLimit
{
    /// <summary>
    /// Descriptors kept for what opens after the start: assemblies loaded lazily and database connections opened
    /// under load (a server that had taken 20 000 messages held 34 more than at its start, 58 more at its peak
    /// besides the sessions), and the second descriptor a session holds for a while — a message spilled to
    /// spool/incoming (above the in-memory threshold, or with the spool's memory budget spent) or a DNS query in
    /// flight (a UDP socket each). Counting two for every session instead would halve the room for idle ones.
    /// </summary>
    public const int Headroom = 256;

    /// <summary>What besides the SMTP connections holds descriptors.</summary>
    /// <param name="OpenNow">Open when the listeners start.</param>
    /// <param name="Deliveries">Remote and local deliveries in flight at most.</param>
    /// <param name="WebConnections">The connection caps of the web listeners that are on.</param>
    /// <param name="StoreConnections">The store's connection pool (the shared PostgreSQL store's; SQLite's files are in <see cref="Headroom"/>).</param>
    public readonly record struct Others(int OpenNow, int Deliveries, int WebConnections, int StoreConnections)
    {
        public long Total => (long)Math.Max(0, OpenNow) + Math.Max(0, Deliveries) + Math.Max(0, WebConnections) + Math.Max(0, StoreConnections) + Headroom;
    }

    /// <summary>The open-file limit that serves <paramref name="maxConnections"/> SMTP sessions besides <paramref name="others"/>.</summary>
    public static long Needed(int maxConnections, Others others) => (long)Math.Max(0, maxConnections) + ConnectionLimiter.DefaultRefusalAllowance + others.Total;

    /// <summary>The SMTP sessions a limit leaves room for (at least one: a server that serves none is no server).</summary>
    public static int SessionRoom(ulong limit, Others others) =>
        (int)Math.Clamp((long)Math.Min(limit, int.MaxValue) - others.Total - ConnectionLimiter.DefaultRefusalAllowance, 1, int.MaxValue);

    /// <summary>The warning for a limit that lowers <paramref name="configured"/> to <paramref name="room"/>.</summary>
    public static string Lowered(ulong limit, int room, int configured, Others others) =>
        $"the open-file limit is {limit}: with {others.OpenNow} descriptors open at start, {others.Deliveries} for deliveries, "
        + $"{others.WebConnections} for the web listeners{(others.StoreConnections > 0 ? $", {others.StoreConnections} for the store's pool" : "")}, "
        + $"{Headroom + ConnectionLimiter.DefaultRefusalAllowance} in reserve, it leaves room for {room} SMTP sessions: limits.maxConnections {configured} is lowered to {room} "
        + $"(more get 421 4.7.0); raise LimitNOFILE (systemd) or ulimit -n to {Needed(configured, others)}, or lower limits.maxConnections";

    /// <summary>
    /// The SMTP sessions to serve at most: <paramref name="configured"/> (limits.maxConnections), or less when the
    /// open-file limit has no room for it (logged). Counts the descriptors open now, so it is called as the
    /// listeners start, after the databases and the web listeners.
    /// </summary>
    public static int MaxConnections(ILogger log, int configured, int deliveries, int webConnections, int storeConnections)
    {
        if (!OperatingSystem.IsLinux()) return configured;
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            log.LogWarning("cannot read the open-file limit (errno {Errno}); limits.maxConnections {Max} is served as configured", Marshal.GetLastPInvokeError(), configured);
            return configured;
        }
        var others = new Others(OpenDescriptors(), deliveries, webConnections, storeConnections);
        var room = SessionRoom(limit.Current, others);
        if (room >= configured) return configured;
        log.LogWarning("{Warning}", Lowered(limit.Current, room, configured, others));
        return room;
    }

    /// <summary>This process's open descriptors (the directory listing's own included).</summary>
    internal static int OpenDescriptors()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 256; // an idle server holds about 240
        }
    }

    private const int RlimitNofile = 7; // RLIMIT_NOFILE on Linux

    /// <summary>struct rlimit: rlim_cur, rlim_max (rlim_t is 64 bits on 64-bit Linux).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
