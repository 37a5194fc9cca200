using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>The one entry into the spool: its results, what it leaves behind, what it logs.</summary>
public sealed class MessageAcceptorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StorageFaultPlan _faults = new();
    private readonly ListLogger _log = new();
    private readonly MessageSpool _spool;
    private readonly MessageAcceptor _acceptor;

    public MessageAcceptorTests()
    {
        _spool = new MessageSpool(_dir.Combine("spool"), TimeProvider.System, NullLogger.Instance, new DurableFiles(_faults));
        _acceptor = new MessageAcceptor(_spool, arrivals: null, TimeProvider.System, _log);
    }

    public void Dispose()
    {
        using (var c = _spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        _spool.Dispose();
        _dir.Dispose();
    }

    private static Envelope EnvelopeOf(SpoolFile file) => new(file.Id, DateTimeOffset.UtcNow, "sender@remote.example", file.Length,
        new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
        new ClientTrace("mx", "192.0.2.1", "client.test", "ESMTP", null, null),
        [new EnvelopeRecipient("alice@example.org", "alice@example.org", RecipientRoute.Local, "mail/example.org/alice", DsnNotify.Unspecified, null, null)]);

    private SpoolFile Receive(int size, long maxSize = 0)
    {
        var file = _acceptor.Open(maxSize);
        var content = new byte[size];
        Random.Shared.NextBytes(content);
        for (int i = 0; i < size; i += 8192) file.Write(content.AsSpan(i, Math.Min(8192, size - i)));
        return file;
    }

    private void AssertNothingStored()
    {
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.Empty(Directory.GetFiles(_spool.DataDirectory));
        Assert.Empty(_spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task BelowTheFreeSpaceFloorTheAcceptorStillStoresForDsnsAndSendmailOnlyMailFromAsksTheGuard()
    {
        // A DSN is small and losing it is worse than using the last of the space: the guard is not in this path.
        using var dir = new TempDirectory();
        var guard = new FreeSpaceGuard(dir.Path, 512, TimeProvider.System, NullLogger.Instance, _ => (1024, 100L * 1024 * 1024 * 1024));
        using var spool = new MessageSpool(dir.Combine("spool"), TimeProvider.System, NullLogger.Instance, freeSpace: guard);
        Assert.False(spool.FreeSpace.Admits());
        var acceptor = new MessageAcceptor(spool, arrivals: null, TimeProvider.System, _log);
        var file = acceptor.Open(0);
        file.Write("Subject: a bounce\r\n\r\nreturned\r\n"u8);
        Assert.IsType<AcceptResult.Accepted>(await acceptor.AcceptAsync(file, EnvelopeOf(file)));
        using (var c = spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
    }

    [Fact]
    public async Task ATooBigMessageIsRefusedAndLeavesNothing()
    {
        var file = Receive(5000, maxSize: 4096);
        Assert.IsType<AcceptResult.TooBig>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        AssertNothingStored();
    }

    [Fact]
    public async Task AnEnvelopeThatDoesNotDescribeTheFileIsABugNotAStorageFailure()
    {
        await using var file = Receive(100);
        await Assert.ThrowsAsync<ArgumentException>(() => _acceptor.AcceptAsync(file, EnvelopeOf(file) with { Size = 99 }));
    }

    [Fact]
    public async Task ADiskFullFailureIsLoggedWithDiskFullAndThePath()
    {
        _faults.FailAlways(DurableStep.Write, Errno.ENOSPC);
        var file = Receive(200_000); // past MessageSpool.MemoryLimit: spilled to a file
        var result = Assert.IsType<AcceptResult.StorageFailed>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.True(result.Failure.DiskFull);
        Assert.Equal(DurableStep.Write, result.Failure.Step);
        var path = _spool.IncomingPath(file.Id);
        Assert.Equal(path, result.Failure.Path);
        var line = Assert.Single(_log.Lines);
        Assert.StartsWith("Error: ", line, StringComparison.Ordinal);
        Assert.Contains("disk full", line, StringComparison.Ordinal);
        Assert.Contains(path, line, StringComparison.Ordinal);
        AssertNothingStored();
    }

    [Fact]
    public async Task AnIoErrorIsAStorageFailureButNotADiskFull()
    {
        _faults.Fail(DurableStep.SyncFile, Errno.EIO);
        var file = Receive((int)MessageSpool.InlineLimit + 1);
        var result = Assert.IsType<AcceptResult.StorageFailed>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.False(result.Failure.DiskFull);
        Assert.Equal(DurableStep.SyncFile, result.Failure.Step);
        Assert.DoesNotContain("disk full", Assert.Single(_log.Lines), StringComparison.Ordinal);
        AssertNothingStored();
    }

    [Fact]
    public async Task AFailureSeenWhileTheMessageArrivesIsReportedOnceAndTheFileIsGone()
    {
        _faults.Fail(DurableStep.Create, Errno.ENOSPC);
        var file = Receive((int)MessageSpool.MemoryLimit + 1); // the spill to a file fails
        var failure = await _acceptor.DiscardIfFailedAsync(file);
        Assert.Equal(DurableStep.Create, failure?.Step);
        Assert.Single(_log.Lines);
        AssertNothingStored();
        Assert.Equal(0, _spool.Memory.Held);
        await using var healthy = Receive((int)MessageSpool.MemoryLimit + 1);
        Assert.Null(await _acceptor.DiscardIfFailedAsync(healthy)); // a healthy file is left alone
        Assert.Single(Directory.GetFiles(_spool.IncomingDirectory));
    }

    [Fact]
    public async Task AFailedRemovalOfTheInlineCopyAfterTheCommitStillAcceptsAndRecoveryRemovesIt()
    {
        _faults.Fail(DurableStep.Delete, Errno.EIO);
        var file = Receive(200_000); // spilled to incoming/, then copied inline
        var accepted = Assert.IsType<AcceptResult.Accepted>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.Equal([accepted.Id], _spool.Queue.AllMessageIds());
        Assert.Single(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.Equal(1, _spool.Recover());
        await using var data = _spool.OpenData(accepted.Id);
        Assert.Equal(200_000, data.Length);
    }

    /// <summary>
    /// The subtle one: a failed fsync of spool/data means the entries renamed into it are not known to be
    /// on the disk. Every message of that batch is refused, and none is retried with a second fsync (after
    /// a failed fsync a later one can succeed without the earlier entries being durable), so no 250 is
    /// ever sent for a data file whose directory entry may be lost in a crash.
    /// </summary>
    [Fact]
    public async Task AFailedDirectoryFsyncRefusesEveryDataFileOfItsBatchWithoutASecondFsync()
    {
        // Hold the queue's writer on a first commit, so that the two large messages arrive as one batch.
        var (held, release) = _faults.Hold(DurableStep.Commit);
        var small = Receive(100);
        var first = _acceptor.AcceptAsync(small, EnvelopeOf(small));
        await held.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var a = Receive((int)MessageSpool.InlineLimit + 10);
        var b = Receive((int)MessageSpool.InlineLimit + 20);
        var both = new[] { _acceptor.AcceptAsync(a, EnvelopeOf(a)), _acceptor.AcceptAsync(b, EnvelopeOf(b)) };
        // Both are renamed into spool/data and then handed to the writer at once.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.GetFiles(_spool.DataDirectory).Length < 2 && DateTime.UtcNow < deadline) await Task.Delay(5, TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        _faults.Fail(DurableStep.SyncDirectory, Errno.EIO);
        _faults.ForgetSteps();
        release();

        Assert.IsType<AcceptResult.Accepted>(await first);
        foreach (var result in await Task.WhenAll(both))
        {
            Assert.Equal(DurableStep.SyncDirectory, Assert.IsType<AcceptResult.StorageFailed>(result).Failure.Step);
        }
        Assert.Single(_faults.Steps, s => s.Step == DurableStep.SyncDirectory);
        Assert.Equal([small.Id], _spool.Queue.AllMessageIds());
        Assert.Empty(Directory.GetFiles(_spool.DataDirectory));
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
    }
    /// <summary>The thread the caller of an accept resumes on (ConfigureAwait(false): where the accept completed).</summary>
    private async Task<string?> ResumedOnAsync(SpoolFile file, bool continueOnWriter)
    {
        Assert.IsType<AcceptResult.Accepted>(await _acceptor.AcceptAsync(file, EnvelopeOf(file), continueOnWriter).ConfigureAwait(false));
        var thread = Thread.CurrentThread.Name;
        await Task.Yield(); // off the writer thread before the test goes on (its end disposes the queue, which joins the writer)
        return thread;
    }

    [Fact]
    public async Task ALoneCommitResumesACallerThatAskedForItOnTheQueueWriterThread()
    {
        // Held until the caller waits for it: a commit done before the caller awaits would leave it where it was.
        var (held, release) = _faults.Hold(DurableStep.Commit);
        var asked = ResumedOnAsync(Receive(100), continueOnWriter: true);
        await held.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        release();
        Assert.Equal("queue-writer", await asked);

        (held, release) = _faults.Hold(DurableStep.Commit);
        var notAsked = ResumedOnAsync(Receive(100), continueOnWriter: false);
        await held.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        release();
        Assert.NotEqual("queue-writer", await notAsked);
    }

    [Fact]
    public async Task CallersCommittedTogetherResumeOnThePoolNotOneAfterAnotherOnTheWriter()
    {
        // Hold the writer on a first commit, so that the next three arrive as one batch.
        var (held, release) = _faults.Hold(DurableStep.Commit);
        var first = ResumedOnAsync(Receive(100), continueOnWriter: true);
        await held.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var batch = Enumerable.Range(0, 3).Select(_ => ResumedOnAsync(Receive(100), continueOnWriter: true)).ToList();
        release();

        Assert.Equal("queue-writer", await first);
        Assert.All(await Task.WhenAll(batch), thread => Assert.NotEqual("queue-writer", thread));
        Assert.Equal(4, _spool.Queue.AllMessageIds().Count);
    }

    [Fact]
    public async Task AFailedLoneCommitAlsoReachesItsCallerOnTheWriterThread()
    {
        // Held until the caller waits for it: a commit that failed at once could finish before the caller awaits.
        var (held, release) = _faults.HoldThenFail(DurableStep.Commit, Errno.ENOSPC);
        var file = Receive(100);
        var accepted = FailedOnAsync(file);
        await held.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        release();

        var (result, thread) = await accepted;
        Assert.Equal("queue-writer", thread);
        Assert.True(Assert.IsType<AcceptResult.StorageFailed>(result).Failure.DiskFull);
        AssertNothingStored();
    }

    private async Task<(AcceptResult Result, string? Thread)> FailedOnAsync(SpoolFile file)
    {
        var result = await _acceptor.AcceptAsync(file, EnvelopeOf(file), continueOnWriter: true).ConfigureAwait(false);
        var thread = Thread.CurrentThread.Name;
        await Task.Yield(); // off the writer thread before the test goes on (its end disposes the queue, which joins the writer)
        return (result, thread);
    }
}
