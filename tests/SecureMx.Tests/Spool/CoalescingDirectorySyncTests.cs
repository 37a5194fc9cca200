using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

public sealed class CoalescingDirectorySyncTests
{
    [Fact]
    public async Task ManyConcurrentRequestsAllComplete()
    {
        using var dir = new TempDirectory();
        var sync = new CoalescingDirectorySync();
        var tasks = Enumerable.Range(0, 200).Select(_ => Task.Run(() => sync.SyncAsync(dir.Path))).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        // A later request after the rounds drained starts a new round.
        await sync.SyncAsync(dir.Path).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public void ALoneCallerSyncsOnItsOwnThreadAndGetsACompletedTask()
    {
        using var dir = new TempDirectory();
        var steps = new RecordingSteps();
        var sync = new CoalescingDirectorySync(new DurableFiles(steps));

        var task = sync.SyncAsync(dir.Path);

        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal([Environment.CurrentManagedThreadId], steps.Threads);
    }

    [Fact]
    public async Task CallersDuringASyncShareOneNextRound()
    {
        using var dir = new TempDirectory();
        var steps = new RecordingSteps { HoldFirst = new ManualResetEventSlim() };
        var sync = new CoalescingDirectorySync(new DurableFiles(steps));
        var first = Task.Run(() => sync.SyncAsync(dir.Path), TestContext.Current.CancellationToken);
        Assert.True(steps.FirstStarted.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        // The first sync may have begun before these callers' renames: they wait for the next one, together.
        var waiting = Enumerable.Range(0, 5).Select(_ => sync.SyncAsync(dir.Path)).ToArray();
        Assert.All(waiting, w => Assert.False(w.IsCompleted));
        steps.HoldFirst.Set();
        await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await first;

        Assert.Equal(2, steps.Threads.Count);
        Assert.True(sync.SyncAsync(dir.Path).IsCompletedSuccessfully); // the rounds drained: alone again
    }

    /// <summary>Records the thread of every directory sync; can hold the first one until released.</summary>
    private sealed class RecordingSteps : IStorageFaultInjector
    {
        private readonly object _gate = new();
        private readonly List<int> _threads = [];
        public ManualResetEventSlim? HoldFirst { get; init; }
        public ManualResetEventSlim FirstStarted { get; } = new();

        public IReadOnlyList<int> Threads { get { lock (_gate) return [.. _threads]; } }

        public void BeforeStep(DurableStep step, string path)
        {
            if (step != DurableStep.SyncDirectory) return;
            bool first;
            lock (_gate)
            {
                first = _threads.Count == 0;
                _threads.Add(Environment.CurrentManagedThreadId);
            }
            if (!first) return;
            FirstStarted.Set();
            HoldFirst?.Wait(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task FailureReachesEveryWaiterOfThatRound()
    {
        var sync = new CoalescingDirectorySync();
        var missing = Path.Combine(Path.GetTempPath(), "securemx-missing-" + Guid.NewGuid().ToString("N"));
        var first = await Assert.ThrowsAsync<DurableStepException>(() => sync.SyncAsync(missing));
        await Assert.ThrowsAsync<DurableStepException>(() => sync.SyncAsync(missing));
        Assert.Equal(DurableStep.SyncDirectory, first.Step);
        Assert.Equal(missing, first.Path);
    }
}
