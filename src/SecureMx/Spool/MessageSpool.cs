using Microsoft.Extensions.Logging;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// The durable spool: the queue database <c>spool/queue.db</c> (envelopes, recipient state, and the
/// bytes of messages up to <see cref="InlineLimit"/>), data files of larger messages in
/// <c>spool/data/</c>, and <c>spool/incoming/</c> for transfers in progress. A message exists once
/// its envelope row is committed; everything else is the remains of an unacknowledged transfer and
/// is removed at start-up (<see cref="Recover"/>).
/// </summary>
public sealed class MessageSpool : IDisposable
{
    public string Root { get; }
    public string DataDirectory { get; }
    public string IncomingDirectory { get; }

    /// <summary>
    /// Messages up to this size are committed into the queue database with their envelope: the batch's
    /// single WAL fsync makes them durable, instead of a file fsync and a directory fsync each.
    /// </summary>
    public const long InlineLimit = 256 * 1024;

    /// <summary>
    /// Messages up to this size are received into pooled memory, not into a file in <c>spool/incoming/</c>
    /// (creating a file was a third of the server's CPU at 20 sessions: ext4's free-inode search); larger
    /// ones spill to a file. 128 KiB keeps the common message (and the 100 KiB benchmark) in memory.
    /// </summary>
    public const long MemoryLimit = 128 * 1024;

    /// <summary>The cap on the memory held by all messages being received (<see cref="SpoolFile"/>); past it they spill to files.</summary>
    public SpoolMemoryBudget Memory { get; } = new(SpoolMemoryBudget.DefaultCapacity);
    public QueueDatabase Queue { get; }

    /// <summary>Every file-system step of the spool goes through here (and the seam of tests with it).</summary>
    public DurableFiles Files { get; }

    /// <summary>The free-space floor of the spool's file system (limits.minFreeDiskMb): SMTP asks it at MAIL FROM, the dashboard shows it.</summary>
    public FreeSpaceGuard FreeSpace { get; }

    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="freeSpace">The free-space guard of the spool's file system; off when null.</param>
    public MessageSpool(string root, TimeProvider time, ILogger logger, DurableFiles? files = null, FreeSpaceGuard? freeSpace = null)
    {
        Root = root;
        DataDirectory = Path.Combine(root, "data");
        IncomingDirectory = Path.Combine(root, "incoming");
        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(IncomingDirectory);
        _time = time;
        _logger = logger;
        Files = files ?? DurableFiles.Default;
        FreeSpace = freeSpace ?? FreeSpaceGuard.Off(root);
        Queue = new QueueDatabase(Path.Combine(root, "queue.db"), DataDirectory, logger, Files);
    }

    private MessageSpool(string root, TimeProvider time, ILogger logger, QueueDatabase queue)
    {
        Root = root;
        DataDirectory = Path.Combine(root, "data");
        IncomingDirectory = Path.Combine(root, "incoming");
        _time = time;
        _logger = logger;
        Files = DurableFiles.Default;
        FreeSpace = FreeSpaceGuard.Off(root);
        Queue = queue;
    }

    /// <summary>
    /// The spool for a command that only reads it (`securemx queue list|show`): nothing created, the
    /// queue database opened read-only (<see cref="QueueDatabase.OpenForReading"/>), so that the
    /// queue can be read on a full disk — when an operator needs it most.
    /// </summary>
    public static MessageSpool OpenForReading(string root, TimeProvider time, ILogger logger) =>
        new(root, time, logger, QueueDatabase.OpenForReading(Path.Combine(root, "queue.db"), Path.Combine(root, "data"), logger));

    public string DataPath(string id) => Path.Combine(DataDirectory, id);

    public string IncomingPath(string id) => Path.Combine(IncomingDirectory, id);

    /// <summary>Creates the file for a message being received; written sequentially while DATA streams in.</summary>
    internal DurableFile CreateIncomingFile(string id) => Files.Create(IncomingPath(id), new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        Share = FileShare.Read,
        BufferSize = 16 * 1024,
        Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });

    /// <summary>Opens a queued message's bytes, wherever they are kept.</summary>
    public Stream OpenData(string id)
    {
        var path = DataPath(id);
        if (File.Exists(path))
        {
            return new FileStream(path, new FileStreamOptions
            {
                // Unbuffered: readers copy in large blocks of their own.
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read,
                BufferSize = 0, Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        return Queue.OpenInlineData(id) ?? throw new FileNotFoundException($"message {id} has no data in the spool");
    }

    /// <summary>
    /// Makes the message durable, together with whatever other sessions commit at the same moment:
    /// <see cref="SpoolFile.CompleteAsync"/> must have run. Messages enter through <see cref="MessageAcceptor"/>.
    /// </summary>
    internal Task CommitAsync(Envelope envelope, SpoolFile file, bool continueOnWriter = false) => file.InlineBytes is { } bytes
        ? Queue.InsertFromMemoryAsync(envelope, bytes, _time, continueOnWriter)
        : Queue.InsertAsync(envelope, file.InlineSource, _time, continueOnWriter);

    /// <summary>
    /// Removes a message: its queue rows and inline bytes in one commit, then its data file. The one way a
    /// message leaves the spool (delivered or failed everywhere, deleted or bounced by the operator). A
    /// database error leaves the message queued; a crash or an I/O error after the commit leaves only a
    /// data file without an envelope, which <see cref="Recover"/> deletes at the next start.
    /// <para>
    /// Not <paramref name="synced"/> (a message delivered everywhere): the commit need not be on disk when it
    /// returns; a power failure may bring the message back, to be delivered again (<see cref="QueueDatabase"/>).
    /// A message with a data file is always removed synced: the file is deleted after the commit, and an
    /// envelope back without its data would be a message that cannot be delivered.
    /// </para>
    /// </summary>
    public async Task RemoveAsync(string id, bool synced = true)
    {
        var path = DataPath(id);
        // Most messages are kept in the database: no unlink that would only say ENOENT.
        bool hasFile = File.Exists(path);
        await Queue.RemoveMessageAsync(id, synced || hasFile);
        if (hasFile) Files.TryDelete(path);
    }

    /// <summary>Removes a file of a transfer that ended; one that cannot be removed now goes at the next start (<see cref="Recover"/>).</summary>
    internal void RemoveLeftover(string path)
    {
        try
        {
            Files.Delete(path);
        }
        catch (DurableStepException ex)
        {
            _logger.LogWarning("{Path} stays until the next start: {Error}", path, ex.Message);
        }
    }

    /// <summary>At start-up: removes transfers that were cut off before their 250 (incoming files, data files without an envelope).</summary>
    public int Recover()
    {
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(IncomingDirectory))
        {
            Files.Delete(file);
            removed++;
        }
        var known = Queue.AllMessageIds();
        foreach (var file in Directory.EnumerateFiles(DataDirectory))
        {
            var name = Path.GetFileName(file);
            if (!known.Contains(name))
            {
                Files.Delete(file);
                removed++;
            }
        }
        return removed;
    }

    public void Dispose() => Queue.Dispose();
}
