namespace SecureMx.Spool;

/// <summary>
/// The data file of one incoming message while it is being received. Counts bytes, stops writing
/// (but keeps counting) past the size limit, and is fsync'd before its envelope is committed.
/// Disposing an uncommitted file deletes it.
/// </summary>
public sealed class SpoolFile : IAsyncDisposable
{
    private readonly MessageSpool _spool;
    private readonly FileStream _stream;
    private readonly long _maxSize;
    private bool _keep;
    private bool _disposed;

    public string Id { get; }
    public long Length { get; private set; }
    public bool TooBig => _maxSize > 0 && Length > _maxSize;

    public SpoolFile(MessageSpool spool, string id, long maxSize)
    {
        _spool = spool;
        Id = id;
        _maxSize = maxSize;
        _stream = spool.CreateDataFile(id);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Length += data.Length;
        if (!TooBig) _stream.Write(data);
    }

    /// <summary>Flushes and fsyncs the data (fdatasync-like); the caller then commits the envelope.</summary>
    public async Task FlushToDiskAsync()
    {
        await _stream.FlushAsync().ConfigureAwait(false);
        // FileStream.Flush(true) is fsync(2): run it on the thread pool, concurrent fsyncs share journal commits.
        await Task.Run(() => _stream.Flush(flushToDisk: true)).ConfigureAwait(false);
    }

    public void MarkCommitted() => _keep = true;

    /// <summary>Closes the file; deletes it unless it was committed. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (!_keep) _spool.DeleteData(Id);
    }
}
