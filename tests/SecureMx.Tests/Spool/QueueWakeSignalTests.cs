using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

public sealed class QueueWakeSignalTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("smx-wake-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task ASignalFromAnotherProcessWakesTheWatchingServer()
    {
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = QueueWakeSignal.Watch(_root, () => woken.TrySetResult());
        QueueWakeSignal.Signal(_root);
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task EverySignalWakesAgain()
    {
        int wakes = 0;
        using var watch = QueueWakeSignal.Watch(_root, () => Interlocked.Increment(ref wakes));
        for (int i = 1; i <= 2; i++)
        {
            int before = Volatile.Read(ref wakes);
            QueueWakeSignal.Signal(_root);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref wakes) == before && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
            Assert.True(Volatile.Read(ref wakes) > before, $"signal {i} did not wake the watcher");
        }
    }

    [Fact]
    public void EverySignalLeavesANewTokenForTheSchedulersLook()
    {
        using var watch = QueueWakeSignal.Watch(_root, () => { });
        Assert.Null(QueueWakeSignal.Token(_root));

        QueueWakeSignal.Signal(_root);
        var first = QueueWakeSignal.Token(_root);
        QueueWakeSignal.Signal(_root);
        var second = QueueWakeSignal.Token(_root);

        Assert.False(string.IsNullOrEmpty(first));
        Assert.False(string.IsNullOrEmpty(second));
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void ASignalWithoutAServerCreatesNothingAndDoesNotThrow()
    {
        QueueWakeSignal.Signal(_root);
        Assert.False(Directory.Exists(QueueWakeSignal.DirectoryOf(_root)));
    }

    [Fact]
    public void WritesToTheSpoolOutsideTheWakeDirectoryDoNotWake()
    {
        int wakes = 0;
        using var watch = QueueWakeSignal.Watch(_root, () => Interlocked.Increment(ref wakes));
        File.WriteAllText(Path.Combine(_root, "queue.db-wal"), "x");
        Thread.Sleep(300);
        Assert.Equal(0, Volatile.Read(ref wakes));
    }
}
