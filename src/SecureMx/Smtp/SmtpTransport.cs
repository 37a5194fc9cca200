using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Smtp;

/// <summary>What <see cref="SmtpTransport.ReadLineAsync"/> found.</summary>
public enum LineStatus
{
    Ok,
    /// <summary>Longer than the limit; read to its end and dropped.</summary>
    TooLong,
    /// <summary>A bare LF or CR somewhere before the CRLF that ended the line (RFC 5321 §2.3.8).</summary>
    BareLineEnding,
    /// <summary>
    /// A bare LF, and then nothing more within <see cref="SmtpTransport.BareLfGrace"/>: a client that ends its
    /// lines with LF alone and waits for a reply. No line has ended; the session says why and closes.
    /// </summary>
    BareLfUnterminated,
    /// <summary>A NUL octet in the line (RFC 5321 §4.1.1: commands are printable text).</summary>
    Nul,
    InvalidUtf8,
    Closed,
}

/// <summary>What an implicit-TLS client sent first.</summary>
public enum FirstBytes
{
    /// <summary>A TLS handshake record (content type 22, RFC 8446 §5.1): a ClientHello is on its way.</summary>
    TlsHandshake,
    /// <summary>Anything else: a client speaking plaintext (SMTP, HTTP …) to a TLS port.</summary>
    Plaintext,
    /// <summary>Nothing in time: typically a plaintext SMTP client waiting for a greeting.</summary>
    Silent,
    /// <summary>The client closed the connection without sending anything.</summary>
    Closed,
}

/// <summary>
/// The byte level of an SMTP server connection: command lines and DATA/BDAT content read from a
/// <see cref="PipeReader"/>, replies collected and flushed only when the client has nothing more
/// pipelined (RFC 2920 §3.2), and the switch to TLS (RFC 3207) on the same socket.
/// </summary>
public sealed class SmtpTransport : IAsyncDisposable
{
    private Stream _stream;
    private PipeReader _reader;
    // Replies collected until the next flush, in a buffer rented for that time only: an idle session holds none.
    private byte[]? _output;
    private int _outputCount;
    private bool _mustRead; // the buffer holds only an incomplete line: wait for more bytes, do not spin on TryRead
    private bool _bytesArrived; // WaitForInputAsync saw bytes (or the end) arrive: the next read need not wait for them again
    private readonly Stream _network;
    private readonly TimeProvider _time;

    /// <summary>
    /// How long a line with a bare LF and no CRLF yet may wait for its next byte: long enough for a line
    /// that arrives in pieces, short enough that an LF-only client hears why nothing happens instead of
    /// waiting for its command timeout (and holding a connection slot that long).
    /// </summary>
    public static readonly TimeSpan BareLfGrace = TimeSpan.FromSeconds(2);

    public SmtpTransport(Stream network, TimeProvider? time = null)
    {
        _network = network;
        _time = time ?? TimeProvider.System;
        _stream = network;
        _reader = CreateReader(network);
    }

    /// <summary>
    /// The reader rents its buffer when it reads and gives it back when everything read is consumed. It is only asked
    /// to read once bytes are there: the transport waits for them with a zero-byte read of its own first
    /// (<see cref="WaitForBytesAsync"/>), so that a waiting connection holds no read buffer (16 KiB each, once most of the
    /// memory of 10 000 idle sessions) and, between commands, no read in progress either (<see cref="WaitForInputAsync"/>).
    /// </summary>
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true, useZeroByteReads: false);

    private static PipeReader CreateReader(Stream stream) => PipeReader.Create(stream, ReaderOptions);

    public SslStream? Tls { get; private set; }

    /// <summary>Collects a reply, one line per text line, "-" after the code on all but the last (RFC 5321 §4.2.1).
    /// Encoded straight into the output buffer: no string per reply.</summary>
    public void Write(SmtpReply reply)
    {
        var lines = reply.Lines;
        for (int i = 0; i < lines.Count; i++)
        {
            var text = lines[i];
            // "ddd" sep "c.sss.ddd " text CRLF; the enhanced code's numbers are at most 3 digits each (RFC 3463 §2)
            var span = Reserve(4 + 12 + Encoding.UTF8.GetByteCount(text) + 2);
            int n = Format(reply.Code, span);
            span[n++] = (byte)(i == lines.Count - 1 ? ' ' : '-');
            if (reply.Enhanced is { } e)
            {
                n += Format(e.Class, span[n..]);
                span[n++] = (byte)'.';
                n += Format(e.Subject, span[n..]);
                span[n++] = (byte)'.';
                n += Format(e.Detail, span[n..]);
                span[n++] = (byte)' ';
            }
            n += Encoding.UTF8.GetBytes(text, span[n..]);
            span[n++] = (byte)'\r';
            span[n++] = (byte)'\n';
            _outputCount += n;
        }
    }

    private static int Format(int value, Span<byte> into) =>
        value.TryFormat(into, out var written, default, System.Globalization.CultureInfo.InvariantCulture) ? written : throw new ArgumentOutOfRangeException(nameof(value));

    /// <summary>At least <paramref name="size"/> free bytes at the end of the output, renting (or growing) the buffer.</summary>
    private Span<byte> Reserve(int size)
    {
        if (_output is null)
        {
            _output = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1024));
        }
        else if (_output.Length - _outputCount < size)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_outputCount + size, _output.Length * 2));
            _output.AsSpan(0, _outputCount).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_output);
            _output = larger;
        }
        return _output.AsSpan(_outputCount);
    }

    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_output is not { } output) return;
        if (_outputCount > 0)
        {
            // A write that fails or is cancelled keeps the replies: a later flush (the 421 at shutdown) still sends them.
            await _stream.WriteAsync(output.AsMemory(0, _outputCount), ct).ConfigureAwait(false);
            await _stream.FlushAsync(ct).ConfigureAwait(false);
        }
        _output = null;
        _outputCount = 0;
        ArrayPool<byte>.Shared.Return(output);
    }

    private async ValueTask<ReadResult> ReadAsync(CancellationToken ct)
    {
        if (!_mustRead && _reader.TryRead(out var ready)) return ready;
        // Nothing more pipelined by the client: this is the moment to send the collected replies.
        await FlushAsync(ct).ConfigureAwait(false);
        _mustRead = false;
        await WaitForBytesAsync(ct).ConfigureAwait(false);
        return await _reader.ReadAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the client has sent something, or closed, without a read buffer: a zero-byte read, which a socket
    /// (and an <see cref="SslStream"/> over it) completes once bytes are there. Not again when
    /// <see cref="WaitForInputAsync"/> has just seen them arrive.
    /// </summary>
    private ValueTask<int> WaitForBytesAsync(CancellationToken ct)
    {
        if (_bytesArrived)
        {
            _bytesArrived = false;
            return new(0);
        }
        return _stream.ReadAsync(Memory<byte>.Empty, ct);
    }

    /// <summary>
    /// Waits, between commands, until the client has sent the next one (or closed the connection): returns at once
    /// when something is buffered already (pipelined), and otherwise sends the collected replies and waits with no
    /// read buffer and no read in progress. The session calls this before <see cref="ReadCommandAsync"/> so that an
    /// idle connection holds one small wait instead of the whole read chain (the line search, the reader's read and
    /// their state; ~1 KiB a session). Its result means nothing (the socket's zero-byte read).
    /// </summary>
    public ValueTask<int> WaitForInputAsync(CancellationToken ct)
    {
        if (HasBufferedInput()) return new(0);
        var flush = FlushAsync(ct);
        if (!flush.IsCompletedSuccessfully) return FlushAndWaitAsync(flush, ct);
        flush.GetAwaiter().GetResult();
        // The socket's own wait, not an async method around it: that would be one more object for every idle session
        // (~140 bytes). Set before the bytes came: should the wait fail, the next read only holds its buffer while it waits.
        _bytesArrived = true;
        return _stream.ReadAsync(Memory<byte>.Empty, ct);
    }

    /// <summary>The replies did not all go out at once (the client's window is full): the wait follows the send.</summary>
    private async ValueTask<int> FlushAndWaitAsync(ValueTask flush, CancellationToken ct)
    {
        await flush.ConfigureAwait(false);
        _bytesArrived = true;
        return await _stream.ReadAsync(Memory<byte>.Empty, ct).ConfigureAwait(false);
    }

    /// <summary>Like <see cref="ReadAsync"/>, but waits for new bytes at most <paramref name="wait"/> (on the
    /// transport's clock); null when none came in that time.</summary>
    private async ValueTask<ReadResult?> ReadWithinAsync(TimeSpan wait, CancellationToken ct)
    {
        await FlushAsync(ct).ConfigureAwait(false);
        _mustRead = false;
        using var grace = new CancellationTokenSource(wait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, grace.Token);
        try
        {
            await WaitForBytesAsync(linked.Token).ConfigureAwait(false);
            return await _reader.ReadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>True when the client has sent bytes we have not read yet (STARTTLS injection check).</summary>
    public bool HasBufferedInput()
    {
        if (!_reader.TryRead(out var r)) return false;
        bool any = !r.Buffer.IsEmpty;
        _reader.AdvanceTo(r.Buffer.Start, r.Buffer.Start);
        return any;
    }

    /// <summary>
    /// Reads one command line terminated by CRLF. Only CRLF ends a line (RFC 5321 §2.3.8): a bare LF
    /// or CR does not, so "NOOP x&lt;LF&gt;MAIL FROM:…&lt;CRLF&gt;" is one line, refused as a whole
    /// (<see cref="LineStatus.BareLineEnding"/>), and nothing hidden behind the LF ever runs. Longer
    /// lines are consumed up to their end and reported as <see cref="LineStatus.TooLong"/>. A refused
    /// line comes back as text too (invalid UTF-8 replaced), so that the session can see its verb.
    /// When a bare LF has been read and the client then sends nothing for <see cref="BareLfGrace"/>,
    /// the result is <see cref="LineStatus.BareLfUnterminated"/>: it ends its lines with LF alone.
    /// </summary>
    public async ValueTask<(LineStatus Status, string Line)> ReadLineAsync(int maxLength, CancellationToken ct)
    {
        var found = await FindLineAsync(maxLength, ct).ConfigureAwait(false);
        if (found.Status != LineStatus.Ok) return (found.Status, "");
        var (status, line) = Take(found, static (status, content) => (status, Encoding.UTF8.GetString(content)));
        return (status, line);
    }

    /// <summary>
    /// <see cref="ReadLineAsync"/> for a command line: the verb is read from the bytes, and only an argument
    /// becomes a string (DATA, QUIT, RSET, NOOP allocate nothing). A refused line (<see cref="LineStatus.BareLineEnding"/>,
    /// <see cref="LineStatus.Nul"/>, <see cref="LineStatus.InvalidUtf8"/>) comes back as text instead, for the session to see its verb.
    /// </summary>
    public async ValueTask<(LineStatus Status, SmtpCommand Command, string RefusedLine)> ReadCommandAsync(int maxLength, CancellationToken ct)
    {
        var found = await FindLineAsync(maxLength, ct).ConfigureAwait(false);
        if (found.Status != LineStatus.Ok) return (found.Status, default, "");
        return Take(found, static (status, content) =>
            status == LineStatus.Ok ? (status, SmtpCommand.Parse(content), "") : (status, default(SmtpCommand), Encoding.UTF8.GetString(content)));
    }

    private delegate T LineReader<T>(LineStatus status, ReadOnlySpan<byte> content);

    /// <summary>A line <see cref="FindLineAsync"/> found and has not consumed yet.</summary>
    private readonly record struct FoundLine(LineStatus Status, ReadOnlySequence<byte> LineWithCrLf, bool BareLf);

    /// <summary>Checks the line found (bare CR or LF, NUL, UTF-8), hands its content without the CRLF to <paramref name="read"/>, then consumes it.</summary>
    private T Take<T>(in FoundLine found, LineReader<T> read)
    {
        var lineWithCrLf = found.LineWithCrLf;
        T result;
        if (lineWithCrLf.IsSingleSegment)
        {
            result = Classify(found.BareLf, lineWithCrLf.FirstSpan[..^2], read);
        }
        else
        {
            Span<byte> bytes = lineWithCrLf.Length <= 1024 ? stackalloc byte[(int)lineWithCrLf.Length] : new byte[lineWithCrLf.Length];
            lineWithCrLf.CopyTo(bytes);
            result = Classify(found.BareLf, bytes[..^2], read);
        }
        _reader.AdvanceTo(lineWithCrLf.End);
        return result;
    }

    private static T Classify<T>(bool bareLf, ReadOnlySpan<byte> content, LineReader<T> read)
    {
        if (bareLf || content.IndexOf((byte)'\r') >= 0) return read(LineStatus.BareLineEnding, content);
        if (content.IndexOf((byte)0) >= 0) return read(LineStatus.Nul, content);
        if (!System.Text.Unicode.Utf8.IsValid(content)) return read(LineStatus.InvalidUtf8, content);
        return read(LineStatus.Ok, content);
    }

    /// <summary>
    /// Waits for the next line ending in CRLF and returns it unconsumed (status <see cref="LineStatus.Ok"/>, the bare LF seen
    /// on the way in <see cref="FoundLine.BareLf"/>), or consumes what was too long and returns that status.
    /// </summary>
    private async ValueTask<FoundLine> FindLineAsync(int maxLength, CancellationToken ct)
    {
        bool tooLong = false;
        bool bareLf = false;
        long scanned = 0; // bytes at the start of the buffer already searched for LF; none of them ended the line
        while (true)
        {
            ReadResult result;
            if (bareLf && _mustRead)
            {
                // Everything that came has been searched, and an LF without CR was in it: a line in pieces
                // goes on at once; an LF-only client waits for a reply and sends nothing more.
                if (await ReadWithinAsync(BareLfGrace, ct).ConfigureAwait(false) is not { } more) return new(LineStatus.BareLfUnterminated, default, true);
                result = more;
            }
            else
            {
                result = await ReadAsync(ct).ConfigureAwait(false);
            }
            var buffer = result.Buffer;
            var end = FindCrLf(buffer, ref scanned, ref bareLf);
            if (end is null)
            {
                if (buffer.Length > maxLength + 1) // + 1: the CR of a line whose LF has not arrived yet
                {
                    // Discard what we have, keeping the last byte: a CR whose LF may come next.
                    tooLong = true;
                    var keep = buffer.Slice(buffer.Length - 1);
                    _reader.AdvanceTo(keep.Start, buffer.End);
                    scanned = 1;
                }
                else
                {
                    _reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted) return new(LineStatus.Closed, default, bareLf);
                _mustRead = true;
                continue;
            }
            var lineWithCrLf = buffer.Slice(0, end.Value);
            if (tooLong || lineWithCrLf.Length - 2 > maxLength)
            {
                _reader.AdvanceTo(end.Value);
                return new(bareLf ? LineStatus.BareLineEnding : LineStatus.TooLong, default, bareLf);
            }
            return new(LineStatus.Ok, lineWithCrLf, bareLf);
        }
    }

    /// <summary>
    /// The position just past the first CRLF in <paramref name="buffer"/>, searching from
    /// <paramref name="scanned"/> on; every LF found without a CR before it is a bare LF, remembered
    /// in <paramref name="bareLf"/>. Null when the line has not ended yet.
    /// </summary>
    private static SequencePosition? FindCrLf(in ReadOnlySequence<byte> buffer, ref long scanned, ref bool bareLf)
    {
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(scanned);
        while (reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
        {
            long lf = reader.Consumed - 1;
            if (lf > 0 && buffer.Slice(lf - 1, 1).FirstSpan[0] == (byte)'\r')
            {
                scanned = reader.Consumed;
                return reader.Position;
            }
            bareLf = true;
        }
        scanned = buffer.Length;
        return null;
    }

    /// <summary>Reads DATA content through <paramref name="decoder"/> until the end marker. False when the client vanished.
    /// <paramref name="timeout"/> is re-armed before every read: a slow transfer is fine, a stalled one is not, and
    /// none may go past the deadline of its <paramref name="transfer"/>, which counts every octet read.</summary>
    public async ValueTask<bool> ReadDataAsync(DataDecoder decoder, Action<ReadOnlySpan<byte>> sink, CancellationTokenSource timeout, TimeSpan stallTimeout, TransferDeadline transfer)
    {
        while (!decoder.IsComplete)
        {
            timeout.CancelAfter(transfer.NextWait(stallTimeout));
            var result = await ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            long consumed = 0;
            foreach (var segment in buffer)
            {
                consumed += decoder.Decode(segment.Span, sink);
                if (decoder.IsComplete) break;
            }
            _reader.AdvanceTo(buffer.GetPosition(consumed));
            transfer.Count(consumed);
            if (!decoder.IsComplete && result.IsCompleted) return false;
            if (!decoder.IsComplete) _mustRead = true;
        }
        return true;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes of a BDAT chunk (RFC 3030), with the timeouts of
    /// <see cref="ReadDataAsync"/>. False when the client vanished.</summary>
    public async ValueTask<bool> ReadChunkAsync(long count, Action<ReadOnlySpan<byte>> sink, CancellationTokenSource timeout, TimeSpan stallTimeout, TransferDeadline transfer)
    {
        while (count > 0)
        {
            timeout.CancelAfter(transfer.NextWait(stallTimeout));
            var result = await ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var take = buffer.Slice(0, Math.Min(count, buffer.Length));
            foreach (var segment in take) sink(segment.Span);
            count -= take.Length;
            _reader.AdvanceTo(take.End);
            transfer.Count(take.Length);
            if (count > 0 && result.IsCompleted) return false;
            if (count > 0) _mustRead = true;
        }
        return true;
    }

    /// <summary>
    /// Looks at the first bytes of a connection without consuming them (the TLS handshake still reads
    /// them), waiting at most <paramref name="wait"/>. A stream that is not a socket is not inspected.
    /// </summary>
    public async Task<(FirstBytes Kind, byte[] Sample)> PeekFirstBytesAsync(TimeSpan wait, CancellationToken ct)
    {
        if (_network is not NetworkStream { Socket: var socket }) return (FirstBytes.TlsHandshake, []);
        var sample = new byte[16];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        int n;
        try
        {
            n = await socket.ReceiveAsync(sample, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (FirstBytes.Silent, []);
        }
        if (n == 0) return (FirstBytes.Closed, []);
        const byte HandshakeRecord = 22;
        return (sample[0] == HandshakeRecord ? FirstBytes.TlsHandshake : FirstBytes.Plaintext, sample[..n]);
    }

    /// <summary>
    /// Switches to TLS. Bytes that arrived in plaintext after STARTTLS are discarded with the old
    /// reader, never read as if they came over TLS (CVE-2011-0411 class).
    /// </summary>
    public async Task StartTlsAsync(TlsProfile profile, SslStreamCertificateContext certificate, CancellationToken ct)
    {
        await FlushAsync(ct).ConfigureAwait(false);
        await _reader.CompleteAsync().ConfigureAwait(false);
        var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
        // The options follow the versions the ClientHello offers (TlsProfile.ServerOptions: TLS 1.3 without a suite policy).
        await ssl.AuthenticateAsServerAsync(static (_, hello, state, _) =>
        {
            var (profile, certificate) = ((TlsProfile, SslStreamCertificateContext))state!;
            return ValueTask.FromResult(profile.ServerOptions(certificate, hello.SslProtocols));
        }, (profile, certificate), ct).ConfigureAwait(false);
        Tls = ssl;
        _stream = ssl;
        _mustRead = false;
        _bytesArrived = false;
        _reader = CreateReader(ssl);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
            if (_output is { } unsent)
            {
                _output = null;
                ArrayPool<byte>.Shared.Return(unsent);
            }
            if (Tls is not null) await Tls.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // Whatever failed above, the socket is closed: a connection must never outlive its session.
            await _network.DisposeAsync().ConfigureAwait(false);
        }
    }
}
