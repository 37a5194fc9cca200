using System.Buffers;

namespace SecureMx.Spool;

/// <summary>
/// One queued message's data for one delivery, which may read it more than once: its header for
/// TLS-Required, then the whole to each host tried (a second connection, a 7-bit conversion). A message
/// kept in the queue database (at most <see cref="MessageSpool.InlineLimit"/>) is read from it once,
/// into pooled memory, and every stream is over that copy: one database open per delivery instead of
/// one per read, and no read handle on the queue held while a slow host takes the body. A larger
/// message's data file is opened for each read.
/// <para>
/// The streams handed out must not be used after <see cref="Dispose"/>: the copy goes back to the pool,
/// cleared (it is someone's message). The memory is one message per delivery in flight
/// (delivery.remoteConcurrency × 256 KiB at the very most).
/// </para>
/// </summary>
public sealed class SpooledMessageData(MessageSpool spool, string id) : IDisposable
{
    private byte[]? _copy;
    private int _length;
    private bool _inFile;
    private bool _disposed;

    /// <summary>A stream over the whole message, from its first byte; the caller disposes it.</summary>
    public Stream Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_copy is null && !_inFile)
        {
            var stream = spool.OpenData(id);
            // MessageSpool.OpenData: a FileStream for a data file, a blob stream for a message in the database.
            if (stream is FileStream)
            {
                _inFile = true;
                return stream;
            }
            using (stream) Copy(stream);
        }
        return _inFile ? spool.OpenData(id) : new MemoryStream(_copy!, 0, _length, writable: false);
    }

    private void Copy(Stream stream)
    {
        long length = stream.Length;
        // A row larger than the spool ever inlines is not trusted to fit in memory.
        if (length > MessageSpool.InlineLimit) throw new IOException($"message {id}: {length} bytes in the queue database, more than the {MessageSpool.InlineLimit} kept there");
        var copy = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
        try
        {
            stream.ReadExactly(copy, 0, (int)length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(copy, clearArray: true);
            throw;
        }
        _copy = copy;
        _length = (int)length;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_copy is { } copy) ArrayPool<byte>.Shared.Return(copy, clearArray: true);
        _copy = null;
    }
}
