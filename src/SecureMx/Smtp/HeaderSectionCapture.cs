namespace SecureMx.Smtp;

/// <summary>
/// Keeps a copy of a message's header section (up to and including the empty line) while the
/// message streams into the spool, so submission can check the author without reading the file
/// back. Beyond <see cref="Limit"/> octets it gives up and says the section was incomplete.
/// </summary>
public sealed class HeaderSectionCapture
{
    public const int Limit = 1024 * 1024;

    private readonly MemoryStream _buffer = new();
    private bool _done;
    private bool _overflow;
    private int _matched; // how much of CR LF CR LF ends the bytes seen so far
    private long _seen;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_done) return;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            _seen++;
            _matched = b == (_matched % 2 == 0 ? (byte)'\r' : (byte)'\n') ? _matched + 1 : b == (byte)'\r' ? 1 : 0;
            if (_matched == 4 || (_seen == 2 && _matched == 2))
            {
                // The end of the header section (or a message that starts with an empty line: no header at all).
                Write(data[..(i + 1)]);
                _done = true;
                return;
            }
        }
        Write(data);
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        if (_buffer.Length + data.Length > Limit)
        {
            _overflow = true;
            _done = true;
            return;
        }
        _buffer.Write(data);
    }

    /// <summary>The header section, and whether all of it was seen (a message may also end without a body).</summary>
    public (byte[] Section, bool Complete) Result() => (_buffer.ToArray(), !_overflow);
}
