namespace SecureMx.Dsn;

/// <summary>
/// Finds, in one pass over a message's bytes, where its header block ends (the first empty line) and
/// whether the header block or the rest holds 8-bit octets: that decides message/rfc822 or message/global
/// (RFC 6532 §3.7), Content-Transfer-Encoding 8bit, and whether a DSN needs SMTPUTF8 or 8BITMIME to be sent.
/// </summary>
internal sealed class OctetScanner
{
    private bool _inHeaders = true;
    private bool _lineHasContent;
    private long _lineStart;

    /// <summary>Octets seen so far.</summary>
    public long Length { get; private set; }

    /// <summary>Length of the header block, including the CRLF of its last field, excluding the empty line.</summary>
    public long HeaderLength => _inHeaders ? Length : _headerLength;

    private long _headerLength;

    public bool HeadersEightBit { get; private set; }

    public bool BodyEightBit { get; private set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            long pos = Length + i;
            if (_inHeaders)
            {
                if (b == (byte)'\n')
                {
                    if (!_lineHasContent)
                    {
                        _inHeaders = false;
                        _headerLength = _lineStart;
                    }
                    _lineHasContent = false;
                    _lineStart = pos + 1;
                }
                else if (b != (byte)'\r')
                {
                    _lineHasContent = true;
                    if (b >= 0x80) HeadersEightBit = true;
                }
            }
            else if (b >= 0x80)
            {
                BodyEightBit = true;
            }
        }
        Length += data.Length;
    }

    /// <summary>Reads <paramref name="stream"/> to its end and returns what it found.</summary>
    public static OctetScanner Scan(Stream stream)
    {
        var scanner = new OctetScanner();
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) scanner.Feed(buffer.AsSpan(0, n));
        return scanner;
    }
}

/// <summary>A write-only pass-through stream that feeds an <see cref="OctetScanner"/>.</summary>
internal sealed class ScanningWriteStream(Stream inner) : Stream
{
    public OctetScanner Scanner { get; } = new();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Scanner.Length;
    public override long Position { get => Scanner.Length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Scanner.Feed(buffer);
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
