using System.Diagnostics.Metrics;

namespace SecureMx.Telemetry;

/// <summary>
/// What the queue gauges report: the last summary of the queue database that the metrics listener's
/// refresher published (every few seconds, off the scrape path). A scrape only reads this snapshot —
/// it never queries the database, so a busy or missing database cannot slow down or break the
/// exporter. Before the first summary (or with the metrics listener off) the gauges report nothing.
/// </summary>
public static class QueueGauges
{
    /// <summary>One summary of the queue.</summary>
    /// <param name="Queued">Recipients never tried yet.</param>
    /// <param name="DeferredByReason">Deferred recipients by reason class; every class the caller knows, 0 included.</param>
    /// <param name="OldestDeferredAgeSeconds">Age of the oldest message with a deferred recipient; 0 when none.</param>
    public sealed record Snapshot(long Queued, IReadOnlyDictionary<string, long> DeferredByReason, double OldestDeferredAgeSeconds)
    {
        public long Deferred => DeferredByReason.Values.Sum();
    }

    private static volatile Snapshot? _current;

    /// <summary>The snapshot the gauges report now, or null.</summary>
    public static Snapshot? Current => _current;

    /// <summary>Publishes a new summary (null: report nothing, e.g. when the listener stops).</summary>
    public static void Publish(Snapshot? snapshot) => _current = snapshot;

    internal static IEnumerable<Measurement<long>> ObserveRecipients()
    {
        if (_current is not { } s) return [];
        return
        [
            new(s.Queued, new KeyValuePair<string, object?>("state", "queued")),
            new(s.Deferred, new KeyValuePair<string, object?>("state", "deferred")),
        ];
    }

    internal static IEnumerable<Measurement<long>> ObserveDeferred() =>
        _current is { } s ? s.DeferredByReason.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("reason", kv.Key))).ToList() : [];

    internal static IEnumerable<Measurement<double>> ObserveOldestDeferredAge() =>
        _current is { } s ? [new Measurement<double>(s.OldestDeferredAgeSeconds)] : [];
}
