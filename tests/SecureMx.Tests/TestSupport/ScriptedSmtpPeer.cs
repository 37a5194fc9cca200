using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>Where a <see cref="ScriptedSmtpPeer"/> stops answering (and keeps the connection open).</summary>
public enum PeerStall { None, Greeting, Ehlo, TlsHandshake, Mail, Rcpt, Data, AfterFinalDot }

/// <summary>
/// A remote SMTP server that misbehaves on purpose, for the client's faults: it falls silent at one
/// stage (<see cref="PeerStall"/>), or offers STARTTLS and answers it with bytes that are not TLS
/// (<c>breakTls</c>), or speaks TLS only as its <see cref="SslServerAuthenticationOptions"/> allow (a
/// TLS 1.0-only peer). Mail that reaches it is kept, with whether it came over TLS.
/// </summary>
public sealed class ScriptedSmtpPeer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly PeerStall _stall;
    private readonly bool _breakTls;
    private readonly Func<SslServerAuthenticationOptions>? _tls;
    private readonly bool _acceptOnce;
    private readonly string? _startTlsRefusal;
    private readonly int _messagesPerConnection;
    private readonly string? _rsetReply;
    private int _connections;

    /// <summary>Messages received: the content and the TLS protocol it came over (null: plaintext).</summary>
    public ConcurrentQueue<(string Content, string? Protocol)> Messages { get; } = new();

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The client address of every connection, in order.</summary>
    public ConcurrentQueue<IPAddress> ClientAddresses { get; } = new();

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <param name="tls">The server side of STARTTLS; with it or <paramref name="breakTls"/> the peer offers STARTTLS.</param>
    /// <param name="acceptOnce">Stop listening after the first connection: the next one is refused (the port is closed).</param>
    /// <param name="listen">The address to listen on (default 127.0.0.1; a free port).</param>
    /// <param name="startTlsRefusal">Offer STARTTLS and answer it with this reply (e.g. "454 4.7.0 TLS not available now") instead of a handshake.</param>
    /// <param name="messagesPerConnection">Take at most this many messages per connection; a MAIL after them gets "451 4.7.0 too many messages" (0: no limit; -1: every MAIL).</param>
    /// <param name="rsetReply">Answer RSET with this reply instead of 250 (e.g. "421 4.3.2 shutting down", then the connection ends).</param>
    public ScriptedSmtpPeer(PeerStall stall = PeerStall.None, bool breakTls = false, Func<SslServerAuthenticationOptions>? tls = null, bool acceptOnce = false,
        IPAddress? listen = null, string? startTlsRefusal = null, int messagesPerConnection = 0, string? rsetReply = null)
    {
        _messagesPerConnection = messagesPerConnection;
        _rsetReply = rsetReply;
        _startTlsRefusal = startTlsRefusal;
        _stall = stall;
        _breakTls = breakTls;
        _tls = tls;
        _acceptOnce = acceptOnce;
        _listener = new TcpListener(listen ?? IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                ClientAddresses.Enqueue(((IPEndPoint)socket.RemoteEndPoint!).Address);
                if (_acceptOnce) _listener.Stop();
                sessions.Add(SessionAsync(socket));
                if (_acceptOnce) break;
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        await Task.WhenAll(sessions);
    }

    private async Task SessionAsync(Socket socket)
    {
        var ct = _stop.Token;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        string? protocol = null;
        int messages = 0;
        try
        {
            var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
            async Task Say(string line)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), ct);
                await stream.FlushAsync(ct);
            }
            async Task Stall() => await Task.Delay(Timeout.Infinite, ct);

            if (_stall == PeerStall.Greeting) await Stall();
            await Say("220 peer.test ESMTP");
            bool offerTls = _breakTls || _tls is not null || _startTlsRefusal is not null;
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var verb = line.Split(' ')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        if (_stall == PeerStall.Ehlo) await Stall();
                        await Say(offerTls && protocol is null ? "250-peer.test\r\n250-8BITMIME\r\n250 STARTTLS" : "250-peer.test\r\n250 8BITMIME");
                        break;
                    case "STARTTLS" when _startTlsRefusal is not null:
                        await Say(_startTlsRefusal);
                        break;
                    case "STARTTLS":
                        await Say("220 go ahead");
                        if (_stall == PeerStall.TlsHandshake) await Stall();
                        if (_breakTls)
                        {
                            await Say("this is not a TLS record, and the connection ends here");
                            return;
                        }
                        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                        await ssl.AuthenticateAsServerAsync(_tls!(), ct);
                        protocol = ssl.SslProtocol.ToString();
                        stream = ssl;
                        reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
                        break;
                    case "MAIL" when _messagesPerConnection != 0 && messages >= _messagesPerConnection:
                        await Say("451 4.7.0 too many messages in this connection");
                        break;
                    case "MAIL":
                        if (_stall == PeerStall.Mail) await Stall();
                        await Say("250 2.1.0 Ok");
                        break;
                    case "RCPT":
                        if (_stall == PeerStall.Rcpt) await Stall();
                        await Say("250 2.1.5 Ok");
                        break;
                    case "DATA":
                        if (_stall == PeerStall.Data) await Stall();
                        await Say("354 go on");
                        var content = new StringBuilder();
                        while (await reader.ReadLineAsync(ct) is { } data && data != ".") content.Append(data).Append("\r\n");
                        if (_stall == PeerStall.AfterFinalDot) await Stall();
                        Messages.Enqueue((content.ToString(), protocol));
                        messages++;
                        await Say("250 2.0.0 Ok: queued");
                        break;
                    case "RSET" when _rsetReply is not null:
                        await Say(_rsetReply);
                        if (_rsetReply.StartsWith("421", StringComparison.Ordinal)) return;
                        break;
                    case "RSET" or "NOOP":
                        await Say("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        await Say("221 2.0.0 Bye");
                        return;
                    default:
                        await Say("502 5.5.2 not here");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException) { }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
