namespace SecureMx.Spool;

/// <summary>
/// A file being written through <see cref="DurableFiles"/>: every write, flush and fsync is a named
/// step that either succeeds or throws <see cref="DurableStepException"/>. Closing never throws: a
/// caller that relies on the bytes has flushed and fsync'd them before, and for an abandoned file
/// whatever was still buffered does not matter (on a full disk, closing would fail to write it again).
/// </summary>
public sealed class DurableFile : IDisposable, IAsyncDisposable
{
    private readonly IStorageFaultInjector? _faults;
    private readonly FileStream _stream;

    public string Path { get; }

    internal DurableFile(IStorageFaultInjector? faults, string path, FileStream stream)
    {
        _faults = faults;
        Path = path;
        _stream = stream;
    }

    /// <summary>The open file, for what must change the file itself and never a path (fchmod, fchown).</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle Handle => _stream.SafeFileHandle;

    /// <summary>Bytes written so far.</summary>
    public long Length => _stream.Position;

    // Not through DurableFiles.Step: a span cannot be captured, and this runs for every chunk of every message.
    public void Write(ReadOnlySpan<byte> data)
    {
        try
        {
            _faults?.BeforeStep(DurableStep.Write, Path);
            _stream.Write(data);
        }
        catch (Exception ex) when (DurableFiles.IsFileSystemError(ex))
        {
            throw new DurableStepException(DurableStep.Write, Path, ex);
        }
    }

    /// <summary>Hands the buffered bytes to the kernel (they are not on the disk yet: see <see cref="Sync"/>).</summary>
    public async Task FlushAsync(CancellationToken ct = default) =>
        await DurableFiles.StepAsync(_faults, DurableStep.Flush, Path, () => new ValueTask(_stream.FlushAsync(ct))).ConfigureAwait(false);

    public void Flush() => DurableFiles.Step(_faults, DurableStep.Flush, Path, _stream.Flush);

    /// <summary>fsync(2): the data written so far is on the disk. Flush first; this does not write the buffer.</summary>
    public void Sync() => DurableFiles.Step(_faults, DurableStep.SyncFile, Path, () => _stream.Flush(flushToDisk: true));

    /// <summary><see cref="Sync"/> on the thread pool: the fsyncs of concurrent sessions share journal commits.</summary>
    public Task SyncAsync() => Task.Run(Sync);

    public void Dispose()
    {
        try { _stream.Dispose(); }
        catch (Exception ex) when (DurableFiles.IsFileSystemError(ex)) { }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync().ConfigureAwait(false); }
        catch (Exception ex) when (DurableFiles.IsFileSystemError(ex)) { }
    }
}
