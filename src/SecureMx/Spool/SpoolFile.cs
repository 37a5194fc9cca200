namespace SecureMx.Spool;

/// <summary>
/// The bytes of one incoming message while it is being received (from <see cref="MessageAcceptor.Open"/>):
/// kept in pooled memory (<see cref="PooledMessageBuffer"/>) up to <see cref="MessageSpool.MemoryLimit"/>,
/// and spilled to a file in <c>spool/incoming/</c> when the message grows past it or the spool's
/// <see cref="SpoolMemoryBudget"/> is spent; counted, and no longer kept (but still counted) past the
/// size limit. When a step fails — the spill file cannot be created, a write fails (ENOSPC, EIO) — the
/// partial file is removed at once (on a full disk it holds the very space that is missing), the
/// failure is kept in <see cref="Failure"/>, and the rest of the transfer is only counted, so that the
/// sender can be read to the end and told "not stored". At the end <see cref="MessageAcceptor"/>
/// completes it: a message in memory is written into the queue database by the committer, a small
/// spilled one is copied from its file, a large one is fsync'd and renamed into <c>spool/data/</c>.
/// Disposing returns the memory and removes whatever is left in <c>incoming/</c>, and a data file
/// whose envelope was not committed.
/// </summary>
public sealed class SpoolFile : IAsyncDisposable
{
    private readonly MessageSpool _spool;
    private readonly long _maxSize;
    private PooledMessageBuffer? _memory; // the bytes while they are in memory; null once spilled, failed, too big or disposed
    private DurableFile? _file; // the spill file; null before the spill, after a failure, and once closed
    private bool _onDisk; // a file of this message exists under _path
    private string _path;
    private bool _committed;
    private bool _disposed;

    public string Id { get; }
    public long Length { get; private set; }
    public bool TooBig => _maxSize > 0 && Length > _maxSize;

    /// <summary>The step that failed while the message was arriving; null while all is well.</summary>
    public StorageFailure? Failure { get; private set; }

    /// <summary>Whether the bytes are still in memory, not in a file (tests and metrics).</summary>
    public bool InMemory => _memory is not null;

    /// <summary>Where the data is once <see cref="CompleteAsync"/> has run: an incoming file to copy inline, or null for a data file or bytes in memory.</summary>
    internal string? InlineSource { get; private set; }

    /// <summary>The bytes to write inline once <see cref="CompleteAsync"/> has run, when they never left memory; null otherwise.</summary>
    internal PooledMessageBuffer? InlineBytes { get; private set; }

    internal SpoolFile(MessageSpool spool, string id, long maxSize)
    {
        _spool = spool;
        Id = id;
        _maxSize = maxSize;
        _path = spool.IncomingPath(id);
        _memory = new PooledMessageBuffer(spool.Memory);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Length += data.Length;
        if (TooBig)
        {
            // Never stored: the memory goes back at once, not when the sender has finished.
            ReleaseMemory();
            return;
        }
        if (_memory is not null)
        {
            if (_memory.TryWrite(data, MessageSpool.MemoryLimit)) return;
            Spill();
        }
        if (_file is null) return;
        try
        {
            _file.Write(data);
        }
        catch (DurableStepException ex)
        {
            FailFile(StorageFailure.From(ex, DurableStep.Write, _path));
        }
    }

    /// <summary>Moves the bytes in memory into a new file in incoming/ (the message has outgrown memory or the budget).</summary>
    private void Spill()
    {
        var memory = _memory!;
        _memory = null;
        try
        {
            _file = _spool.CreateIncomingFile(Id);
            _onDisk = true;
            foreach (var segment in memory.Segments) _file.Write(segment.Span);
        }
        catch (DurableStepException ex)
        {
            FailFile(StorageFailure.From(ex, DurableStep.Create, _path));
        }
        finally
        {
            memory.Dispose();
        }
    }

    private void FailFile(StorageFailure failure)
    {
        Failure = failure;
        _file?.Dispose();
        _file = null;
        if (_onDisk) _spool.RemoveLeftover(_path);
        _onDisk = false;
    }

    private void ReleaseMemory()
    {
        _memory?.Dispose();
        _memory = null;
        InlineBytes = null;
    }

    /// <summary>
    /// The bytes received so far, read-only, for the steps between the end of the content and the commit
    /// (inbound authentication hashes the body from it; DKIM signing at submission reads the message): a copy
    /// of at most <see cref="MessageSpool.MemoryLimit"/> octets while the message is in memory, else the spill
    /// file itself (flushed first). Null after a failure, past the size limit, and once completed. Dispose it
    /// before the commit.
    /// </summary>
    public async Task<Stream?> OpenReadAsync()
    {
        if (Failure is not null || TooBig || _disposed || InlineBytes is not null || InlineSource is not null) return null;
        if (_memory is not null)
        {
            var copy = new MemoryStream(checked((int)_memory.Length));
            foreach (var segment in _memory.Segments) copy.Write(segment.Span);
            copy.Position = 0;
            return copy;
        }
        if (_file is null) return null;
        await _file.FlushAsync().ConfigureAwait(false);
        return new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    /// <summary>
    /// Finishes writing. Bytes in memory stay there for the committer; a small spilled message stays in
    /// incoming/ for the committer to copy; a large one becomes a durable file now.
    /// </summary>
    internal async Task CompleteAsync()
    {
        if (_memory is not null)
        {
            InlineBytes = _memory;
            return;
        }
        if (_file is null) throw new InvalidOperationException($"spool file {Id} has failed or is closed");
        await _file.FlushAsync().ConfigureAwait(false);
        if (Length <= MessageSpool.InlineLimit)
        {
            InlineSource = _path;
            return;
        }
        await _file.SyncAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        var target = _spool.DataPath(Id);
        _spool.Files.Rename(_path, target);
        _path = target; // the rename becomes durable with the directory fsync of the commit batch
    }

    internal void MarkCommitted() => _committed = true;

    /// <summary>Returns the memory, closes the file and removes what must not stay. Never throws; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        ReleaseMemory();
        if (_file is not null) await _file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        // An inline message lives in the database now; a data file stays only when its envelope was committed.
        if (_onDisk && (InlineSource is not null || !_committed)) _spool.RemoveLeftover(_path);
    }
}
