using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SecureMx.Mail;

namespace SecureMx.Smtp;

public enum LineStatus { Ok, TooLong, BareLineEnding, InvalidUtf8, Closed }

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
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private bool _mustRead; // the buffer holds only an incomplete line: wait for more bytes, do not spin on TryRead
    private readonly Stream _network;

    public SmtpTransport(Stream network)
    {
        _network = network;
        _stream = network;
        _reader = PipeReader.Create(network, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
    }

    public SslStream? Tls { get; private set; }

    /// <summary>Collects a reply, one line per text line, "-" after the code on all but the last (RFC 5321 §4.2.1).</summary>
    public void Write(SmtpReply reply)
    {
        var enhanced = reply.Enhanced is { } e ? e + " " : "";
        for (int i = 0; i < reply.Lines.Count; i++)
        {
            var sep = i == reply.Lines.Count - 1 ? ' ' : '-';
            Append($"{reply.Code}{sep}{enhanced}{reply.Lines[i]}\r\n");
        }
    }

    private void Append(string text)
    {
        var n = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, _output.GetSpan(n));
        _output.Advance(n);
    }

    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_output.WrittenCount == 0) return;
        await _stream.WriteAsync(_output.WrittenMemory, ct).ConfigureAwait(false);
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        _output.ResetWrittenCount();
    }

    private async ValueTask<ReadResult> ReadAsync(CancellationToken ct)
    {
        if (!_mustRead && _reader.TryRead(out var ready)) return ready;
        // Nothing more pipelined by the client: this is the moment to send the collected replies.
        await FlushAsync(ct).ConfigureAwait(false);
        _mustRead = false;
        return await _reader.ReadAsync(ct).ConfigureAwait(false);
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
    /// Reads one command line terminated by CRLF. Longer lines are consumed up to their end and
    /// reported as <see cref="LineStatus.TooLong"/>; a bare LF or CR anywhere is refused.
    /// </summary>
    public async ValueTask<(LineStatus Status, string Line)> ReadLineAsync(int maxLength, CancellationToken ct)
    {
        bool tooLong = false;
        while (true)
        {
            var result = await ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is null)
            {
                if (buffer.Length > maxLength + 1) // + 1: the CR of a line whose LF has not arrived yet
                {
                    // Discard what we have, keeping a trailing CR in case the LF comes next.
                    tooLong = true;
                    var keep = buffer.Slice(buffer.Length - 1);
                    _reader.AdvanceTo(keep.Start, buffer.End);
                }
                else
                {
                    _reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted) return (LineStatus.Closed, "");
                _mustRead = true;
                continue;
            }
            var lineWithLf = buffer.Slice(0, buffer.GetPosition(1, lf.Value));
            var next = lineWithLf.End;
            if (tooLong || lineWithLf.Length - 2 > maxLength)
            {
                _reader.AdvanceTo(next);
                return (LineStatus.TooLong, "");
            }
            var bytes = lineWithLf.Length <= 1024 ? stackalloc byte[(int)lineWithLf.Length] : new byte[lineWithLf.Length];
            lineWithLf.CopyTo(bytes);
            _reader.AdvanceTo(next);
            if (bytes.Length < 2 || bytes[^2] != (byte)'\r') return (LineStatus.BareLineEnding, "");
            var content = bytes[..^2];
            if (content.IndexOfAny((byte)'\r', (byte)'\n') >= 0 || content.IndexOf((byte)0) >= 0) return (LineStatus.BareLineEnding, "");
            if (!System.Text.Unicode.Utf8.IsValid(content)) return (LineStatus.InvalidUtf8, "");
            return (LineStatus.Ok, Encoding.UTF8.GetString(content));
        }
    }

    /// <summary>Reads DATA content through <paramref name="decoder"/> until the end marker. False when the client vanished.
    /// <paramref name="stall"/> is re-armed before every read: a slow transfer is fine, a stalled one is not.</summary>
    public async ValueTask<bool> ReadDataAsync(DataDecoder decoder, Action<ReadOnlySpan<byte>> sink, CancellationTokenSource stall, TimeSpan stallTimeout)
    {
        while (!decoder.IsComplete)
        {
            stall.CancelAfter(stallTimeout);
            var result = await ReadAsync(stall.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            long consumed = 0;
            foreach (var segment in buffer)
            {
                consumed += decoder.Decode(segment.Span, sink);
                if (decoder.IsComplete) break;
            }
            _reader.AdvanceTo(buffer.GetPosition(consumed));
            if (!decoder.IsComplete && result.IsCompleted) return false;
            if (!decoder.IsComplete) _mustRead = true;
        }
        return true;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes of a BDAT chunk (RFC 3030). False when the client vanished.</summary>
    public async ValueTask<bool> ReadChunkAsync(long count, Action<ReadOnlySpan<byte>> sink, CancellationTokenSource stall, TimeSpan stallTimeout)
    {
        while (count > 0)
        {
            stall.CancelAfter(stallTimeout);
            var result = await ReadAsync(stall.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var take = buffer.Slice(0, Math.Min(count, buffer.Length));
            foreach (var segment in take) sink(segment.Span);
            count -= take.Length;
            _reader.AdvanceTo(take.End);
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
    public async Task StartTlsAsync(SslServerAuthenticationOptions options, CancellationToken ct)
    {
        await FlushAsync(ct).ConfigureAwait(false);
        await _reader.CompleteAsync().ConfigureAwait(false);
        var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsServerAsync(options, ct).ConfigureAwait(false);
        Tls = ssl;
        _stream = ssl;
        _mustRead = false;
        _reader = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
            if (Tls is not null) await Tls.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // Whatever failed above, the socket is closed: a connection must never outlive its session.
            await _network.DisposeAsync().ConfigureAwait(false);
        }
    }
}
