namespace SecureMx.Store;

/// <summary>How a <see cref="BatchingLogWriter{T}"/> batches, bounds and retries.</summary>
public sealed record LogWriterOptions
{
    /// <summary>A batch is written this long after its first row (200 ms: a transaction per delivered message measurably slowed the queue).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Rows per transaction; this many pending rows are written at once, without waiting for <see cref="Delay"/>.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Rows kept while the database refuses them; beyond this, new rows are dropped and counted.</summary>
    public int Capacity { get; init; } = 100_000;

    /// <summary>The next try after the database refused a batch (a full disk, a lock held too long).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(5);
}
