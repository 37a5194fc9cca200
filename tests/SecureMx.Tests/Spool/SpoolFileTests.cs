using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>A message being received: in pooled memory while small, in a file once it spills, its memory always returned.</summary>
public sealed class SpoolFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StorageFaultPlan _faults = new();
    private readonly MessageSpool _spool;
    private readonly MessageAcceptor _acceptor;

    public SpoolFileTests()
    {
        _spool = new MessageSpool(_dir.Combine("spool"), TimeProvider.System, NullLogger.Instance, new DurableFiles(_faults));
        _acceptor = new MessageAcceptor(_spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
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

    private static byte[] Content(int size)
    {
        var content = new byte[size];
        Random.Shared.NextBytes(content);
        return content;
    }

    /// <summary>Writes in uneven pieces, as a network delivers them.</summary>
    private static void WriteInPieces(SpoolFile file, byte[] content)
    {
        for (int i = 0, n = 1; i < content.Length; i += n, n = n * 3 % 9001 + 1) file.Write(content.AsSpan(i, Math.Min(n, content.Length - i)));
    }

    private byte[] Stored(string id)
    {
        using var data = _spool.OpenData(id);
        using var copy = new MemoryStream();
        data.CopyTo(copy);
        return copy.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(100 * 1024)]
    [InlineData((int)MessageSpool.MemoryLimit)]
    public async Task AMessageUpToTheMemoryLimitNeverTouchesIncomingAndIsStoredIntact(int size)
    {
        var content = Content(size);
        var file = _acceptor.Open(0);
        WriteInPieces(file, content);
        Assert.True(file.InMemory);
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.True(_spool.Memory.Held >= size);
        _faults.ForgetSteps();
        var accepted = Assert.IsType<AcceptResult.Accepted>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.Equal([DurableStep.Commit], _faults.Steps.Select(s => s.Step)); // no file created, written or removed
        Assert.Equal(content, Stored(accepted.Id));
        Assert.Equal(0, _spool.Memory.Held);
    }

    [Fact]
    public async Task AMessagePastTheMemoryLimitSpillsToIncomingAndIsStoredIntact()
    {
        var content = Content((int)MessageSpool.MemoryLimit + 1);
        var file = _acceptor.Open(0);
        WriteInPieces(file, content);
        Assert.False(file.InMemory);
        Assert.Single(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.Equal(0, _spool.Memory.Held); // handed to the file at the spill
        var accepted = Assert.IsType<AcceptResult.Accepted>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.Equal(content, Stored(accepted.Id));
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
    }

    [Fact]
    public async Task WhenTheMemoryBudgetIsSpentEvenASmallMessageSpillsToAFile()
    {
        var hogs = new List<SpoolFile>();
        while (_spool.Memory.Held + MessageSpool.MemoryLimit <= _spool.Memory.Capacity)
        {
            var hog = _acceptor.Open(0);
            hog.Write(Content((int)MessageSpool.MemoryLimit));
            Assert.True(hog.InMemory);
            hogs.Add(hog);
        }
        var held = _spool.Memory.Held;
        Assert.True(held <= _spool.Memory.Capacity);

        var content = Content(64 * 1024);
        var small = _acceptor.Open(0);
        WriteInPieces(small, content);
        Assert.False(small.InMemory);
        Assert.Equal(held, _spool.Memory.Held); // whatever it had rented went back at the spill
        var accepted = Assert.IsType<AcceptResult.Accepted>(await _acceptor.AcceptAsync(small, EnvelopeOf(small)));
        Assert.Equal(content, Stored(accepted.Id));

        foreach (var hog in hogs) await hog.DisposeAsync();
        Assert.Equal(0, _spool.Memory.Held);
    }

    [Fact]
    public async Task ATooBigMessageReturnsItsMemoryAtOnceNotAtTheEndOfTheTransfer()
    {
        await using var file = _acceptor.Open(maxSize: 10_000);
        file.Write(Content(8000));
        Assert.True(_spool.Memory.Held > 0);
        file.Write(Content(8000));
        Assert.True(file.TooBig);
        Assert.Equal(0, _spool.Memory.Held);
        file.Write(Content(8000)); // still counted
        Assert.Equal(24_000, file.Length);
        Assert.IsType<AcceptResult.TooBig>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
    }

    [Theory]
    [InlineData(DurableStep.Create)]
    [InlineData(DurableStep.Write)]
    public async Task AFailedSpillIsAFailureLeavesNoFileAndReturnsTheMemory(DurableStep step)
    {
        _faults.Fail(step, Errno.ENOSPC);
        var file = _acceptor.Open(0);
        WriteInPieces(file, Content((int)MessageSpool.MemoryLimit + 10_000));
        Assert.Equal(step, file.Failure?.Step);
        Assert.True(file.Failure!.DiskFull);
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.Equal(0, _spool.Memory.Held);
        Assert.IsType<AcceptResult.StorageFailed>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.Empty(_spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task AFailedCommitOfAMessageInMemoryLeavesNothingAndReturnsTheMemory()
    {
        _faults.Fail(DurableStep.Commit, Errno.ENOSPC);
        var file = _acceptor.Open(0);
        file.Write(Content(4096));
        var failed = Assert.IsType<AcceptResult.StorageFailed>(await _acceptor.AcceptAsync(file, EnvelopeOf(file)));
        Assert.True(failed.Failure.DiskFull);
        Assert.Equal(DurableStep.Commit, failed.Failure.Step);
        Assert.Empty(_spool.Queue.AllMessageIds());
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
        Assert.Equal(0, _spool.Memory.Held);
    }

    [Fact]
    public async Task AnAbandonedMessageInMemoryReturnsItsMemoryWhenDisposed()
    {
        var file = _acceptor.Open(0);
        file.Write(Content(50_000));
        Assert.True(_spool.Memory.Held >= 50_000);
        await file.DisposeAsync();
        await file.DisposeAsync();
        Assert.Equal(0, _spool.Memory.Held);
    }
}
