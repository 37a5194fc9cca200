using SecureMx.MailAuth;

namespace SecureMx.Delivery;

/// <summary>
/// The spooled message without Authentication-Results fields that claim our authserv-id (RFC 8601 §5,
/// <see cref="ForgedAuthenticationResults"/>), read lazily: the first read takes the header section (at
/// most <see cref="HeaderLimit"/> octets; a longer one passes unchanged, nothing is held beyond it), the
/// rest streams from the spool. The spool keeps the bytes exactly as the client sent them.
/// </summary>
internal sealed class ForgedResultsFilterStream(Stream inner, string authservId) : Stream
{
    /// <summary>As much of the header section as is examined (the header capture's limit of the SMTP session).</summary>
    public const int HeaderLimit = 1024 * 1024;

    private byte[]? _head;
    private int _headPos;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_head is null) Start(ReadHead(null, CancellationToken.None).GetAwaiter().GetResult());
        return _headPos < _head!.Length ? CopyHead(buffer) : inner.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_head is null) Start(await ReadHead(ct, ct).ConfigureAwait(false));
        return _headPos < _head!.Length ? CopyHead(buffer.Span) : await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int CopyHead(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _head!.Length - _headPos);
        _head.AsSpan(_headPos, n).CopyTo(buffer);
        _headPos += n;
        return n;
    }

    private void Start(byte[] head) => _head = head;

    /// <summary>Reads up to the empty line after the header section (or the limit, or the end), and filters what it read.</summary>
    private async Task<byte[]> ReadHead(CancellationToken? async, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int end = -1;
        while (buffer.Length < HeaderLimit)
        {
            int n = async is null ? inner.Read(chunk) : await inner.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0) break;
            long before = buffer.Length;
            buffer.Write(chunk, 0, n);
            // Search from a little before the new bytes: the empty line may straddle two reads.
            var data = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            int from = (int)Math.Max(0, before - 3);
            int found = data[from..].IndexOf("\r\n\r\n"u8);
            if (found >= 0) { end = from + found + 4; break; }
            if (before == 0 && data.StartsWith("\r\n"u8)) { end = 2; break; }
        }
        var all = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (end < 0 && buffer.Length >= HeaderLimit) return all.ToArray(); // too long to examine: passed on as it is
        int headerEnd = end < 0 ? all.Length : end;
        var filtered = ForgedAuthenticationResults.Remove(all[..headerEnd], authservId);
        if (filtered is null) return all.ToArray();
        return [.. filtered, .. all[headerEnd..]];
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
