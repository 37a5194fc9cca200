using System.Diagnostics.Metrics;

namespace SecureMx.Telemetry;

/// <summary>
/// The process's instruments: one <see cref="Meter"/> named <c>SecureMx</c>, read today with
/// <c>dotnet-counters monitor --counters SecureMx -n securemx</c> and by tests with a
/// <see cref="MeterListener"/>. Every instrument is declared here, so that this file is the list of
/// what SecureMx measures; the stage that observes a fact records it. Names follow the OpenTelemetry
/// convention (<c>securemx.&lt;area&gt;.&lt;what&gt;</c>, lower case, dots).
/// </summary>
public static class SecureMxMetrics
{
    public const string MeterName = "SecureMx";

    public static readonly Meter Meter = new(MeterName);

    /// <summary>
    /// Bytes free (for an unprivileged user) on the spool's file system, as the free-space guard last
    /// measured it (at most every 2 s, when a MAIL FROM or the dashboard asks; limits.minFreeDiskMb > 0).
    /// </summary>
    public static readonly Gauge<long> SpoolFreeBytes = Meter.CreateGauge<long>("securemx.spool.free_bytes", "By",
        "Free bytes on the spool's file system at the last measurement");

    /// <summary>1 while the spool's file system is below its free-space floor (new mail refused at MAIL FROM with 452 4.3.1), else 0.</summary>
    public static readonly Gauge<int> SpoolBelowFreeFloor = Meter.CreateGauge<int>("securemx.spool.below_free_floor", null,
        "1 while the spool's file system is below limits.minFreeDiskMb and new mail is refused");
}
