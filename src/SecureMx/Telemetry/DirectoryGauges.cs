using System.Diagnostics.Metrics;

namespace SecureMx.Telemetry;

/// <summary>
/// What the directory cache's age gauge reports: a reading the cache's service publishes while it
/// runs (only where several nodes share a PostgreSQL store). A scrape calls it; it never touches the
/// store. Without a published reading (SQLite, or before the first snapshot) the gauge reports nothing.
/// </summary>
public static class DirectoryGauges
{
    private static volatile Func<double?>? _ageSeconds;

    /// <summary>Publishes the age reading (null: report nothing, e.g. when the service stops).</summary>
    public static void Publish(Func<double?>? ageSeconds) => _ageSeconds = ageSeconds;

    internal static IEnumerable<Measurement<double>> ObserveAge() =>
        _ageSeconds?.Invoke() is double age ? [new Measurement<double>(age)] : [];
}
