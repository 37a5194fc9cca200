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
        // The rounds drained: a later caller gets a round of its own. (Awaited: the pool thread that ran the second
        // round may still be leaving it, and a caller meanwhile waits for the round after.)
        await sync.SyncAsync(dir.Path).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(3, steps.Threads.Count);
    }

    [Fact]
    public async Task ARoundWaitsForTheFilesAnnouncedBeforeItAndOneFsyncCoversThemAll()
    {
        using var dir = new TempDirectory();
        var steps = new RecordingSteps();
        var sync = new CoalescingDirectorySync(new DurableFiles(steps));
        using var first = sync.Announce(dir.Path);
        using var second = sync.Announce(dir.Path);
        using var third = sync.Announce(dir.Path);

        var firstSynced = sync.SyncAsync(first);
        var secondSynced = sync.SyncAsync(second);
        Assert.False(firstSynced.IsCompleted); // the third file is still on its way (in its own fsync)
        Assert.False(secondSynced.IsCompleted);
        Assert.Empty(steps.Threads);

        // The last file it waited for runs the round, on its own thread.
        var thirdSynced = sync.SyncAsync(third);
        Assert.True(thirdSynced.IsCompletedSuccessfully);
        await Task.WhenAll(firstSynced, secondSynced).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal([Environment.CurrentManagedThreadId], steps.Threads);
    }

    [Fact]
    public async Task ARoundDoesNotWaitForFilesAnnouncedAfterItWasAskedFor()
    {
        using var dir = new TempDirectory();
        var steps = new RecordingSteps();
        var sync = new CoalescingDirectorySync(new DurableFiles(steps));
        using var early = sync.Announce(dir.Path);
        using var awaited = sync.Announce(dir.Path);
        var earlySynced = sync.SyncAsync(early);
        using var late = sync.Announce(dir.Path); // after the round was asked for: it is not waited for

        Assert.True(sync.SyncAsync(awaited).IsCompletedSuccessfully);
        await earlySynced.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Single(steps.Threads);

        Assert.True(sync.SyncAsync(late).IsCompletedSuccessfully); // alone: a round of its own
        Assert.Equal(2, steps.Threads.Count);
    }

    [Fact]
    public async Task AFileGivenUpReleasesTheRoundThatWaitedForIt()
    {
        using var dir = new TempDirectory();
        var steps = new RecordingSteps();
        var sync = new CoalescingDirectorySync(new DurableFiles(steps));
        using var linked = sync.Announce(dir.Path);
        var failing = sync.Announce(dir.Path);
        var synced = sync.SyncAsync(linked);
        Assert.False(synced.IsCompleted);

        failing.Dispose(); // its fsync or rename failed: it will have no entry
        await synced.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Single(steps.Threads);
        failing.Dispose(); // a second dispose, and one after a sync, change nothing
        linked.Dispose();
        // Nothing is left waiting for the file given up. (Awaited, not checked for completion at once: the pool thread
        // that ran the round may still be leaving it, and a caller meanwhile waits for the round after.)
        await sync.SyncAsync(dir.Path).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(2, steps.Threads.Count);
        Assert.Throws<InvalidOperationException>(() => { _ = sync.SyncAsync(linked); }); // a mistake of the caller, said at once
    }

    [Fact]
    public async Task AFailedRoundFailsTheFilesItWaitedForAndTheOneThatRanIt()
    {
        var sync = new CoalescingDirectorySync();
        var missing = Path.Combine(Path.GetTempPath(), "securemx-missing-" + Guid.NewGuid().ToString("N"));
        using var waiting = sync.Announce(missing);
        using var last = sync.Announce(missing);
        var waited = sync.SyncAsync(waiting);

        await Assert.ThrowsAsync<DurableStepException>(() => sync.SyncAsync(last));
        await Assert.ThrowsAsync<DurableStepException>(() => waited.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task UnderConcurrentWritersNoFileIsReleasedBeforeAnFsyncThatBeganAfterItsLink()
    {
        using var dir = new TempDirectory();
        var disk = new DirectoryFlushModel();
        var sync = new CoalescingDirectorySync(new DurableFiles(disk));
        var ct = TestContext.Current.CancellationToken;
        int files = 0, synced = 0;

        // Writers on threads of their own, started together: on the pool, while other tests keep it busy, they could
        // run one after another, and writers that never overlap test nothing here (nor share a round).
        void Writer(int seed)
        {
            var random = new Random(seed);
            for (int i = 0; i < 200; i++)
            {
                var id = Interlocked.Increment(ref files);
                using var arrival = sync.Announce(dir.Path);
                Thread.SpinWait(random.Next(0, 4000)); // the file's own fsync
                if (random.Next(10) == 0) continue; // it failed: given up (the using disposes it)
                disk.Link(id);
                Assert.True(sync.SyncAsync(arrival).Wait(TimeSpan.FromSeconds(30), ct), $"file {id}: no round in 30 s");
                Assert.True(disk.IsDurable(id), $"file {id} was released before an fsync that began after its link");
                Interlocked.Increment(ref synced);
            }
        }

        using var start = new Barrier(8);
        var writers = Enumerable.Range(0, 8)
            .Select(seed => Task.Factory.StartNew(() => { start.SignalAndWait(ct); Writer(seed); }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(120), ct);
        Assert.InRange(disk.Rounds, 1, synced - 1); // some shared a round
    }

    /// <summary>
    /// What an fsync of the directory makes durable: the entries linked when it began. The model flushes inside
    /// the seam's hook, which returns before the real fsync and so before any waiter of the round is released.
    /// </summary>
    private sealed class DirectoryFlushModel : IStorageFaultInjector
    {
        private readonly object _gate = new();
        private readonly HashSet<int> _linked = [];
        private readonly HashSet<int> _durable = [];
        private int _rounds;

        public int Rounds { get { lock (_gate) return _rounds; } }
        public void Link(int id) { lock (_gate) _linked.Add(id); }
        public bool IsDurable(int id) { lock (_gate) return _durable.Contains(id); }

        public void BeforeStep(DurableStep step, string path)
        {
            if (step != DurableStep.SyncDirectory) return;
            int[] flushed;
            lock (_gate)
            {
                _rounds++;
                flushed = [.. _linked];
            }
            Thread.SpinWait(2000); // the flush takes a while: entries linked meanwhile are not in it
            lock (_gate) _durable.UnionWith(flushed);
        }
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
