using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace SecureMx.Hosting;

/// <summary>
/// The open-file limit (RLIMIT_NOFILE) against what the configuration asks of it: a descriptor for every
/// SMTP session (<c>limits.maxConnections</c>), every remote and local delivery in flight, and a reserve
/// for the runtime's own files, the databases, the logs, DNS and the web listeners (an idle server holds
/// about 200). The .NET runtime already raises the soft limit to the hard one when it starts (CoreCLR's
/// platform layer), so the hard limit is what counts: when it is short the server says so at start, since
/// past it <c>accept(2)</c> fails with EMFILE and new connections wait unanswered (<see cref="Smtp.SmtpListener"/>).
/// </summary>
public static partial class OpenFileLimit
{
    /// <summary>Descriptors kept for everything that is not a session or a delivery.</summary>
    public const int Reserve = 512;

    /// <summary>What the limits ask for: one descriptor per session and per delivery in flight, and the reserve.</summary>
    public static ulong Needed(int maxConnections, int remoteConcurrency, int localConcurrency) =>
        (ulong)Math.Max(0, maxConnections) + (ulong)Math.Max(0, remoteConcurrency) + (ulong)Math.Max(0, localConcurrency) + Reserve;

    /// <summary>The warning for a limit short of <paramref name="needed"/>; null when it is enough.</summary>
    public static string? Shortfall(ulong limit, ulong needed, int maxConnections) => limit >= needed ? null :
        $"the open-file limit is {limit}, below the {needed} that limits.maxConnections {maxConnections} and the deliveries need: "
        + "past it new connections wait unanswered until a session ends; raise LimitNOFILE (systemd) or ulimit -n, or lower limits.maxConnections";

    /// <summary>Reads the limit and logs a warning when it is short.</summary>
    public static void Check(ILogger log, int maxConnections, int remoteConcurrency, int localConcurrency)
    {
        if (!OperatingSystem.IsLinux()) return;
        var needed = Needed(maxConnections, remoteConcurrency, localConcurrency);
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            log.LogWarning("cannot read the open-file limit (errno {Errno}); limits.maxConnections {Max} needs about {Needed}", Marshal.GetLastPInvokeError(), maxConnections, needed);
            return;
        }
        if (Shortfall(limit.Current, needed, maxConnections) is { } warning) log.LogWarning("{Warning}", warning);
    }

    private const int RlimitNofile = 7; // RLIMIT_NOFILE on Linux

    /// <summary>struct rlimit: rlim_cur, rlim_max (rlim_t is 64 bits on 64-bit Linux).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
