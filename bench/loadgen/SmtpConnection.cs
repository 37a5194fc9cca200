using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace SmtpLoad;

/// <summary>One SMTP client connection: lockstep commands and replies (no pipelining, as smtp-source without -P).</summary>
internal sealed class SmtpConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;

    private SmtpConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<SmtpConnection> OpenAsync(IPEndPoint server, CancellationToken ct)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server, ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new SmtpConnection(socket);
    }

    /// <summary>Reads one (possibly multi-line) reply and returns its code.</summary>
    public async Task<int> ReadReplyAsync(CancellationToken ct)
    {
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code))
                throw new IOException("malformed reply: " + line);
            if (line.Length == 3 || line[3] != '-') return code;
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var i = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (i >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, i - _start).TrimEnd('\r');
                _start = i + 1;
                return line;
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new IOException("reply line too long");
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct);
            if (n == 0) throw new IOException("connection closed by the server");
            _end += n;
        }
    }

    public async Task<int> CommandAsync(string command, CancellationToken ct)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), ct);
        return await ReadReplyAsync(ct);
    }

    public async Task<int> SendDataAsync(ReadOnlyMemory<byte> dotTerminated, CancellationToken ct)
    {
        await _stream.WriteAsync(dotTerminated, ct);
        return await ReadReplyAsync(ct);
    }

    /// <summary>After a 220 to STARTTLS: the handshake, TLS 1.3 only; any certificate (the bench's are self-signed).</summary>
    public async Task StartTlsAsync(string host, CancellationToken ct)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, ct);
        _stream = ssl;
        _start = _end = 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
