namespace SecureMx.Spool;

/// <summary>
/// The bytes of one incoming message while it is being received: streamed to a file in
/// <c>spool/incoming/</c>, counted, and no longer written (but still counted) past the size limit.
/// At the end a small message is committed into the queue database together with its envelope
/// (one WAL fsync for a whole batch of messages); a large one is fsync'd and renamed into
/// <c>spool/data/</c>. Disposing removes whatever is left in <c>incoming/</c>, and an uncommitted data file.
/// </summary>
public sealed class SpoolFile : IAsyncDisposable
{
    private readonly MessageSpool _spool;
    private readonly FileStream _stream;
    private readonly long _maxSize;
    private string _path;
    private bool _committed;
    private bool _disposed;

    public string Id { get; }
    public long Length { get; private set; }
    public bool TooBig => _maxSize > 0 && Length > _maxSize;

    /// <summary>Where the data is once <see cref="CompleteAsync"/> has run: an incoming file to copy inline, or null for a data file.</summary>
    public string? InlineSource { get; private set; }

    public SpoolFile(MessageSpool spool, string id, long maxSize)
    {
        _spool = spool;
        Id = id;
        _maxSize = maxSize;
        _path = spool.IncomingPath(id);
        _stream = spool.CreateIncomingFile(id);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Length += data.Length;
        if (!TooBig) _stream.Write(data);
    }

    /// <summary>Finishes writing. Small messages stay in incoming/ for the committer to copy; large ones become durable files now.</summary>
    public async Task CompleteAsync()
    {
        await _stream.FlushAsync().ConfigureAwait(false);
        if (Length <= MessageSpool.InlineLimit)
        {
            InlineSource = _path;
            return;
        }
        // fsync(2) on the thread pool: concurrent fsyncs of several sessions share journal commits.
        await Task.Run(() => _stream.Flush(flushToDisk: true)).ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        var target = _spool.DataPath(Id);
        File.Move(_path, target);
        _path = target; // the rename becomes durable with the directory fsync of the commit batch
    }

    public void MarkCommitted() => _committed = true;

    /// <summary>Closes the file and removes what must not stay. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        // An inline message lives in the database now; a data file stays only when its envelope was committed.
        if (InlineSource is not null || !_committed)
        {
            try { File.Delete(_path); } catch (IOException) { }
        }
    }
}
