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
}
