namespace SecureMx.Spool;

/// <summary>
/// The bytes of one incoming message while it is being received (from <see cref="MessageAcceptor.Open"/>):
/// streamed to a file in <c>spool/incoming/</c>, counted, and no longer written (but still counted)
/// past the size limit. When a step fails — the file cannot be created, a write fails (ENOSPC, EIO) —
/// the partial file is removed at once (on a full disk it holds the very space that is missing), the
/// failure is kept in <see cref="Failure"/>, and the rest of the transfer is only counted, so that
/// the sender can be read to the end and told "not stored". At the end <see cref="MessageAcceptor"/>
/// completes it: a small message stays for the committer to copy into the queue database, a large
/// one is fsync'd and renamed into <c>spool/data/</c>. Disposing removes whatever is left in
/// <c>incoming/</c>, and a data file whose envelope was not committed.
/// </summary>
public sealed class SpoolFile : IAsyncDisposable
{
    private readonly MessageSpool _spool;
    private readonly long _maxSize;
    private DurableFile? _file; // null when it could not be created, after a failed write, and once closed
    private string _path;
    private bool _committed;
    private bool _disposed;

    public string Id { get; }
    public long Length { get; private set; }
    public bool TooBig => _maxSize > 0 && Length > _maxSize;

    /// <summary>The step that failed while the message was arriving; null while all is well.</summary>
    public StorageFailure? Failure { get; private set; }

    /// <summary>Where the data is once <see cref="CompleteAsync"/> has run: an incoming file to copy inline, or null for a data file.</summary>
    internal string? InlineSource { get; private set; }

    internal SpoolFile(MessageSpool spool, string id, long maxSize)
    {
        _spool = spool;
        Id = id;
        _maxSize = maxSize;
        _path = spool.IncomingPath(id);
        try
        {
            _file = spool.CreateIncomingFile(id);
        }
        catch (DurableStepException ex)
        {
            Failure = StorageFailure.From(ex, DurableStep.Create, _path);
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Length += data.Length;
        if (_file is null || TooBig) return;
        try
        {
            _file.Write(data);
        }
        catch (DurableStepException ex)
        {
            Failure = StorageFailure.From(ex, DurableStep.Write, _path);
            _file.Dispose();
            _file = null;
            _spool.RemoveLeftover(_path);
        }
    }

    /// <summary>Finishes writing. Small messages stay in incoming/ for the committer to copy; large ones become durable files now.</summary>
    internal async Task CompleteAsync()
    {
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

    /// <summary>Closes the file and removes what must not stay. Never throws; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_file is not null) await _file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        // An inline message lives in the database now; a data file stays only when its envelope was committed.
        if (InlineSource is not null || !_committed) _spool.RemoveLeftover(_path);
    }
}
