using SecureMx.Spool;

namespace SecureMx.Dkim;

/// <summary>A write-only stream into a <see cref="SpoolFile"/>, for MimeKit to write a signed message into the spool (memory first, a file past the limit).</summary>
internal sealed class SpoolFileStream(SpoolFile file) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => file.Length;
    public override long Position { get => file.Length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => file.Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer) => file.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        file.Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        file.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
