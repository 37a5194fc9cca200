using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Store;
using SecureMx.Tests.Queue;

namespace SecureMx.Tests.Store;

/// <summary>
/// The write-behind of the session and delivery logs, with a sink the test controls: when rows are
/// written, in which batches, what a database error and a full backlog do, and what stopping writes.
/// </summary>
public sealed class BatchingLogWriterTests
{
    private static readonly LogWriterOptions Small = new() { Delay = TimeSpan.FromMilliseconds(200), BatchSize = 3, Capacity = 5, RetryDelay = TimeSpan.FromSeconds(5) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ConcurrentQueue<string> _log = new();
    private readonly List<List<int>> _batches = [];

    /// <summary>Fails while set, as a database with a full disk does.</summary>
    private Exception? _failure;

    private BatchingLogWriter<int> Writer(LogWriterOptions? options = null) =>
        new("test log", rows =>
        {
            if (_failure is { } f) throw f;
            lock (_batches) _batches.Add(rows.ToList());
        }, new RecordingLogger<BatchingLogWriterTests>(_log), _time, options ?? Small);

    private List<int> Written
    {
        get { lock (_batches) return _batches.SelectMany(b => b).ToList(); }
    }

    [Fact]
    public void ARowIsWrittenWhenTheDelayHasPassedAndNotBefore()
    {
        using var writer = Writer();
        writer.Append(1);
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Empty(Written);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([1], Written);
        Assert.Equal(0, writer.Pending);
    }

    [Fact]
    public void AFullBatchIsWrittenAtOnceWithoutWaitingForTheDelay()
    {
        using var writer = Writer();
        writer.Append([1, 2, 3]);
        Assert.Equal([[1, 2, 3]], _batches);
    }

    [Fact]
    public void FlushWritesEveryPendingRowInOrderOneBatchPerTransaction()
    {
        using var writer = Writer(Small with { Capacity = 100 });
        _failure = new InvalidOperationException("not yet"); // keeps the batch-size trigger from writing early
        writer.Append([1, 2, 3, 4, 5, 6, 7]);
        _failure = null;

        Assert.True(writer.Flush());
        Assert.Equal([[1, 2, 3], [4, 5, 6], [7]], _batches);
    }

    [Fact]
    public async Task RowsQueuedAtStopAreWritten()
    {
        using var writer = Writer();
        writer.Append([1, 2]);
        await writer.StopAsync(TestContext.Current.CancellationToken);
        Assert.Equal([1, 2], Written);
    }

    [Fact]
    public void ADatabaseErrorKeepsTheRowsAndTheRetryWritesThem()
    {
        using var writer = Writer();
        _failure = new IOException("disk full");
        writer.Append([1, 2]);
        Assert.False(writer.Flush());
        Assert.Equal(2, writer.Pending);
        Assert.Contains(_log, l => l.Contains("writing 2 rows failed", StringComparison.Ordinal));

        _failure = null;
        _time.Advance(TimeSpan.FromSeconds(5)); // the retry
        Assert.Equal([1, 2], Written);
        Assert.Equal(0, writer.Pending);
    }

    [Fact]
    public void WhileTheDatabaseFailsNewRowsWaitForTheRetryInsteadOfWritingAtOnce()
    {
        int attempts = 0;
        using var writer = new BatchingLogWriter<int>("test log", _ =>
        {
            attempts++;
            throw new IOException("disk full");
        }, new RecordingLogger<BatchingLogWriterTests>(_log), _time, Small with { Capacity = 100 });
        writer.Append([1, 2, 3]); // a full batch: written at once, and refused
        Assert.Equal(1, attempts);
        writer.Append([4, 5, 6]);
        writer.Append([7, 8, 9]);
        Assert.Equal(1, attempts);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, attempts);
    }

    [Fact]
    public void AFullBacklogDropsNewRowsCountsThemAndSaysSoOnce()
    {
        using var writer = Writer();
        _failure = new IOException("disk full");
        writer.Append([1, 2, 3, 4, 5, 6, 7]);
        writer.Append(8);

        Assert.Equal(5, writer.Pending);
        Assert.Equal(3, writer.Dropped);
        Assert.Single(_log, l => l.Contains("backlog full", StringComparison.Ordinal));

        _failure = null;
        Assert.True(writer.Flush());
        Assert.Equal([1, 2, 3, 4, 5], Written); // the oldest are kept: the newest are the ones refused
        Assert.Contains(_log, l => l.Contains("3 rows were dropped", StringComparison.Ordinal));
    }

    [Fact]
    public void RowsAfterDisposeAreDroppedAndCounted()
    {
        var writer = Writer();
        writer.Append(1);
        writer.Dispose();
        writer.Append(2);
        Assert.Equal([1], Written);
        Assert.Equal(1, writer.Dropped);
    }
}
