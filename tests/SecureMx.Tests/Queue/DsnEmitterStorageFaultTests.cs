using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// A DSN goes into the spool through the same acceptor as every message: when storage fails at any
/// step, the failure is logged (with "disk full" when that is the cause), nothing of the DSN stays in
/// the spool, nobody is told it arrived, the original is untouched, and the caller hears that the
/// DSN was not spooled (the queue runner tries it again).
/// </summary>
public sealed class DsnEmitterStorageFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly StorageFaultPlan _faults = new();
    private readonly ListLogger _log = new();
    private readonly MessageSpool _spool;
    private readonly List<string> _arrived = new();
    private readonly DsnEmitter _emitter;

    public DsnEmitterStorageFaultTests()
    {
        _spool = new MessageSpool(_dir.Combine("spool"), TimeProvider.System, NullLogger.Instance, new DurableFiles(_faults));
        var options = new SecureMxOptions { Hostname = "mx.example.org" };
        _emitter = new DsnEmitter(_spool, new RecipientRouter(_store.Mailboxes, options.Delivery), options, TimeProvider.System, _log);
        _emitter.Arrived += _arrived.Add;
    }

    public void Dispose()
    {
        using (var c = _spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        _spool.Dispose();
        _store.Dispose();
        _dir.Dispose();
    }

    /// <summary>A message from alice (hosted here: her DSNs go to her Maildir) to a remote address that failed.</summary>
    private async Task<(Envelope Envelope, QueuedRecipient Recipient)> OriginalAsync()
    {
        var acceptor = new MessageAcceptor(_spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
        var file = acceptor.Open(0);
        file.Write("From: <alice@example.org>\r\nSubject: original\r\n\r\nhello\r\n"u8);
        var rcpt = new EnvelopeRecipient("bob@remote.example", "bob@remote.example", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var envelope = new Envelope(file.Id, DateTimeOffset.UtcNow, "alice@example.org", file.Length,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null), new ClientTrace("mx", "192.0.2.1", "client.test", "ESMTP", null, "alice@example.org"), [rcpt]);
        Assert.IsType<AcceptResult.Accepted>(await acceptor.AcceptAsync(file, envelope));
        return (envelope, new QueuedRecipient(envelope.Id, 0, rcpt, RecipientState.Failed, 1, DateTimeOffset.UtcNow, TestOutcomes.Failed("5.1.1 no such user")));
    }

    [Theory]
    [InlineData(Errno.ENOSPC)]
    [InlineData(Errno.EIO)]
    public async Task ADsnThatCannotBeStoredIsLoggedAndLeavesNothing(Errno errno)
    {
        var (original, recipient) = await OriginalAsync();
        var queued = new HashSet<string>(_spool.Queue.AllMessageIds());
        Task<bool> EmitAsync() => _emitter.EmitAsync(original, [new DsnEmitter.Item(recipient, recipient.LastOutcome!)], DsnAction.Failed, null);

        _faults.ForgetSteps();
        Assert.True(await EmitAsync());
        queued.Add(Assert.Single(_arrived));
        Assert.True(queued.SetEquals(_spool.Queue.AllMessageIds()));
        foreach (var group in _faults.Steps.GroupBy(s => (s.Step, s.Directory))
            // The delete after the commit cannot fail it; a full disk does not fail a read (the original's inline data), a bad one does.
            .Where(g => g.Key.Step != DurableStep.Delete && !(g.Key.Step == DurableStep.QueueRead && errno == Errno.ENOSPC)))
        {
            var when = $"{errno} at {group.Key.Step} in {group.Key.Directory}";
            int lines = _log.Lines.Count;
            _faults.Fail(group.Key.Step, errno, p => Path.GetDirectoryName(p) == group.Key.Directory);
            Assert.False(await EmitAsync(), when); // the caller must try again
            Assert.True(queued.SetEquals(_spool.Queue.AllMessageIds()), when);
            Assert.Equal(queued.Count - 1, _arrived.Count);
            Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
            var logged = string.Join("\n", _log.Lines.Skip(lines));
            Assert.Contains("could not create the failed DSN", logged, StringComparison.Ordinal);
            Assert.True(logged.Contains("disk full", StringComparison.Ordinal) == (errno == Errno.ENOSPC), $"{when}: {logged}");

            _faults.Clear();
            Assert.True(await EmitAsync(), when);
            queued.Add(_arrived[^1]);
            Assert.True(queued.SetEquals(_spool.Queue.AllMessageIds()), when + ", then cleared");
        }
        Assert.NotNull(_spool.Queue.Load(original.Id));
    }

    [Fact]
    public async Task ADsnThatCanNeverBeMadeIsLoggedAndNotAskedForAgain()
    {
        var (original, recipient) = await OriginalAsync();
        var broken = original with { Sender = "not an address" };

        Assert.True(await _emitter.EmitAsync(broken, [new DsnEmitter.Item(recipient, recipient.LastOutcome!)], DsnAction.Failed, null));
        Assert.Contains(_log.Lines, l => l.Contains("could not create the failed DSN", StringComparison.Ordinal));
        Assert.Empty(_arrived);
    }
}
