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
