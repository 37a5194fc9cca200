using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Cli;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `securemx sendmail` when storage fails: a fault at any step of spooling is an error (a
/// <see cref="CliException"/>: "securemx: …", exit 1) and nothing is queued; once the fault clears the
/// same input is queued.
/// </summary>
public sealed class SendmailCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StorageFaultPlan _faults = new();
    private readonly MessageSpool _spool;
    private readonly MessageAcceptor _acceptor;

    private static readonly List<EnvelopeRecipient> Alice =
        [new("alice@example.org", "alice@example.org", RecipientRoute.Local, "mail/example.org/alice", DsnNotify.Unspecified, null, null)];

    public SendmailCommandTests()
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

    /// <summary>Unix line endings, as a script writes them; the spool holds them as CRLF.</summary>
    private static MemoryStream Input(int size)
    {
        var text = new System.Text.StringBuilder("Subject: from cron\n\n");
        while (text.Length < size) text.Append(new string('c', 70)).Append('\n');
        return new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text.ToString()));
    }

    private Task<string> QueueAsync(int size) => SendmailCommand.QueueAsync(_acceptor, Input(size), "root@example.org", Alice, maxSize: 10 * 1024 * 1024);

    [Theory]
    [InlineData(Errno.ENOSPC, 4 * 1024)]
    [InlineData(Errno.EIO, 4 * 1024)]
    [InlineData(Errno.ENOSPC, 400 * 1024)]
    [InlineData(Errno.EIO, 400 * 1024)]
    [InlineData(Errno.ENOSPC, 200 * 1024)] // past MessageSpool.MemoryLimit: spilled to spool/incoming, then copied inline
    public async Task AFaultAtAnyStepIsAnErrorAndQueuesNothing(Errno errno, int size)
    {
        _faults.ForgetSteps();
        var queued = new HashSet<string> { await QueueAsync(size) };
        var steps = _faults.Steps;
        foreach (var group in steps.GroupBy(s => (s.Step, s.Directory)).Where(g => g.Key.Step != DurableStep.Delete)) // the delete after the commit cannot fail the message
        {
            var when = $"{errno} at {group.Key.Step} in {group.Key.Directory}";
            _faults.Fail(group.Key.Step, errno, p => Path.GetDirectoryName(p) == group.Key.Directory);
            var error = await Assert.ThrowsAsync<CliException>(() => QueueAsync(size));
            Assert.True(error.Message.StartsWith("disk full: ", StringComparison.Ordinal) == (errno == Errno.ENOSPC), $"{when}: {error.Message}");
            Assert.True(queued.SetEquals(_spool.Queue.AllMessageIds()), when);
            Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
            Assert.All(Directory.GetFiles(_spool.DataDirectory), f => Assert.Contains(Path.GetFileName(f), queued));

            _faults.Clear();
            queued.Add(await QueueAsync(size));
        }
        Assert.True(queued.SetEquals(_spool.Queue.AllMessageIds()));
        Assert.Contains(steps, s => s.Step == DurableStep.Commit);
    }

    [Fact]
    public async Task ATooBigMessageIsAnErrorAndQueuesNothing()
    {
        var error = await Assert.ThrowsAsync<CliException>(() =>
            SendmailCommand.QueueAsync(_acceptor, Input(5000), "root@example.org", Alice, maxSize: 4096));
        Assert.StartsWith("message larger than limits.maxMessageSize", error.Message, StringComparison.Ordinal);
        Assert.Empty(_spool.Queue.AllMessageIds());
        Assert.Empty(Directory.GetFiles(_spool.IncomingDirectory));
    }
}
