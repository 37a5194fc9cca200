using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Cli;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>`securemx queue vacuum`: the pages of removed inline messages go back to the file system; refused while serve runs or without room for the copy.</summary>
public sealed class QueueVacuumTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    private static readonly List<EnvelopeRecipient> Alice =
        [new("alice@example.test", "alice@example.test", RecipientRoute.Local, "mail/example.test/alice", DsnNotify.Unspecified, null, null)];

    public QueueVacuumTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>Queues <paramref name="count"/> inline messages of 200 KiB and removes all but the first; returns the one kept.</summary>
    private async Task<string> QueueAndRemoveAsync(int count)
    {
        var spool = new MessageSpool(Path.Combine(_data, "spool"), TimeProvider.System, NullLogger.Instance);
        var acceptor = new MessageAcceptor(spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
        var ids = new List<string>();
        for (int i = 0; i < count; i++)
            ids.Add(await SendmailCommand.QueueAsync(acceptor, new MemoryStream(new byte[200 * 1024].Select(_ => (byte)'v').ToArray()), "root@example.test", Alice, maxSize: 1024 * 1024));
        foreach (var id in ids.Skip(1)) await spool.RemoveAsync(id);
        spool.Dispose();
        SqliteConnection.ClearAllPools(); // as after serve stopped: the write-ahead log checkpointed
        return ids[0];
    }

    [Fact]
    public async Task VacuumGivesThePagesOfRemovedMessagesBackAndKeepsTheRest()
    {
        var kept = await QueueAndRemoveAsync(10);
        var result = QueueVacuum.Run(_data);
        Assert.True(result.BytesBefore > 1024 * 1024, $"{result.BytesBefore}");
        Assert.True(result.BytesAfter < 600 * 1024, $"{result.BytesAfter}");
        Assert.Equal(result.BytesAfter, new FileInfo(Path.Combine(_data, "spool", "queue.db")).Length);
        using var spool = MessageSpool.OpenForReading(Path.Combine(_data, "spool"), TimeProvider.System, NullLogger.Instance);
        Assert.Equal([kept], spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task VacuumRefusesWhileServeHoldsTheInstanceLock()
    {
        await QueueAndRemoveAsync(2);
        using var serving = SafeIo.TryLockExclusive(Path.Combine(_data, "spool", "serve.lock"));
        Assert.NotNull(serving);
        Assert.Contains("is running", Assert.Throws<CliException>(() => QueueVacuum.Run(_data)).Message);
    }

    [Fact]
    public async Task VacuumRefusesWithoutRoomForASecondCopy()
    {
        await QueueAndRemoveAsync(3);
        var before = new FileInfo(Path.Combine(_data, "spool", "queue.db")).Length;
        var ex = Assert.Throws<CliException>(() => QueueVacuum.Run(_data, _ => 512 * 1024));
        Assert.Contains("not enough free space", ex.Message);
        Assert.Equal(before, new FileInfo(Path.Combine(_data, "spool", "queue.db")).Length);
    }
}
