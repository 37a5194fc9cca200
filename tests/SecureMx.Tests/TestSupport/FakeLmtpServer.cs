using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>One mail transaction as the fake LMTP server saw it.</summary>
/// <param name="Lhlo">The LHLO line of the session (the last one: after STARTTLS, the second).</param>
/// <param name="Mail">The MAIL command line.</param>
/// <param name="Rcpts">Every RCPT command line, in order.</param>
/// <param name="Wire">The content as it crossed the wire, dot-stuffed, with the final "." line.</param>
/// <param name="Tls">Whether the session was in TLS when the transaction ran.</param>
internal sealed record FakeLmtpTransaction(string Lhlo, string Mail, IReadOnlyList<string> Rcpts, byte[] Wire, bool Tls)
{
    /// <summary>The content with the transparency undone (RFC 5321 §4.5.2) and the final "." line removed.</summary>
    public byte[] Content
    {
        get
        {
            var text = Encoding.Latin1.GetString(Wire);
            var lines = text.Split("\r\n");
            // The wire ends with ".\r\n": the last two elements are "." and "".
            var body = lines[..^2].Select(l => l.StartsWith('.') ? l[1..] : l);
            var joined = string.Concat(body.Select(l => l + "\r\n"));
            return Encoding.Latin1.GetBytes(joined);
        }
    }
}

/// <summary>
/// A scripted LMTP server (RFC 2033) in process, on a loopback TCP port or a unix-domain socket:
/// greets, answers LHLO with <see cref="Capabilities"/>, answers MAIL, each RCPT and DATA as told,
/// reads the content to its final dot, and replies once per accepted recipient (<see cref="AfterData"/>),
/// or drops the connection after <see cref="DropAfterDataReplies"/> of those replies. Everything it
/// read is recorded: the transactions, and the command lines grouped by the read that brought them
/// (pipelined commands arrive together).
/// </summary>
internal sealed class FakeLmtpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentBag<Task> _sessions = [];
    private readonly ConcurrentQueue<FakeLmtpTransaction> _transactions = new();
    private readonly ConcurrentQueue<IReadOnlyList<string>> _reads = new();
    private int _connections;
    private int _open;
    private int _maxOpen;

    /// <summary>delivery.lmtp for this server: "127.0.0.1:PORT" or "unix:PATH".</summary>
    public string Target { get; }

    public string Greeting { get; set; } = "220 lmtp.test LMTP ready";

    /// <summary>The LHLO reply's keywords, after the first line.</summary>
    public List<string> Capabilities { get; set; } = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"];

    /// <summary>When set, the reply to LHLO instead of the capabilities (a server that does not speak LMTP).</summary>
    public string? LhloRefusal { get; set; }

    /// <summary>With a certificate (and its key), STARTTLS is offered before TLS.</summary>
    public X509Certificate2? Certificate { get; set; }

    public Func<string, string> MailReply { get; set; } = _ => "250 2.1.0 OK";

    /// <summary>The reply to RCPT, by the address in it.</summary>
    public Func<string, string> RcptReply { get; set; } = _ => "250 2.1.5 OK";

    public string DataReply { get; set; } = "354 OK";

    /// <summary>The reply after the content for each accepted recipient, by its address (RFC 2033 §4.2).</summary>
    public Func<string, string> AfterData { get; set; } = a => $"250 2.0.0 <{a}> fake-id Saved";

    /// <summary>When set, the connection is closed after this many of the replies after the content.</summary>
    public int? DropAfterDataReplies { get; set; }

    /// <summary>When set, the replies after the content wait for it (a slow or hanging server).</summary>
    public Task? HoldAfterData { get; set; }

    public IReadOnlyList<FakeLmtpTransaction> Transactions => _transactions.ToArray();

    /// <summary>The command lines read, one list per read from the socket.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Reads => _reads.ToArray();

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The most connections that were open at once.</summary>
    public int MaxConcurrentConnections => Volatile.Read(ref _maxOpen);

    private FakeLmtpServer(Socket listener, string target)
    {
        _listener = listener;
        Target = target;
        _accepting = AcceptAsync();
    }

    public static FakeLmtpServer StartTcp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(64);
        return new FakeLmtpServer(socket, $"127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}");
    }

    public static FakeLmtpServer StartUnix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(64);
        return new FakeLmtpServer(socket, "unix:" + path);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            var open = Interlocked.Increment(ref _open);
            int max;
            while (open > (max = Volatile.Read(ref _maxOpen)) && Interlocked.CompareExchange(ref _maxOpen, open, max) != max) { }
            _sessions.Add(Task.Run(() => SessionAsync(client)));
        }
    }

    private sealed class Session(Stream stream)
    {
        public Stream Stream = stream;
        public readonly List<byte> Buffer = [];
        public bool Tls;

        public async Task<bool> FillAsync(FakeLmtpServer server, CancellationToken ct)
        {
            var chunk = new byte[16 * 1024];
            int n = await Stream.ReadAsync(chunk, ct);
            if (n == 0) return false;
            Buffer.AddRange(chunk.AsSpan(0, n));
            // Record the complete lines this read brought, as one batch.
            var lines = new List<string>();
            var text = Encoding.UTF8.GetString(chunk, 0, n);
            foreach (var line in text.Split("\r\n")[..^1]) lines.Add(line);
            if (lines.Count > 0) server._reads.Enqueue(lines);
            return true;
        }

        public async Task<string?> ReadLineAsync(FakeLmtpServer server, CancellationToken ct)
        {
            while (true)
            {
                for (int i = 0; i + 1 < Buffer.Count; i++)
                {
                    if (Buffer[i] == '\r' && Buffer[i + 1] == '\n')
                    {
                        var line = Encoding.UTF8.GetString(Buffer.GetRange(0, i).ToArray());
                        Buffer.RemoveRange(0, i + 2);
                        return line;
                    }
                }
                if (!await FillAsync(server, ct)) return null;
            }
        }

        /// <summary>The content up to and including the line ".": ends with CRLF "." CRLF, or is "." CRLF alone.</summary>
        public async Task<byte[]?> ReadDataAsync(FakeLmtpServer server, CancellationToken ct)
        {
            while (true)
            {
                var bytes = Buffer.ToArray();
                int end = -1;
                if (bytes.AsSpan().StartsWith(".\r\n"u8)) end = 3;
                else
                {
                    var at = bytes.AsSpan().IndexOf("\r\n.\r\n"u8);
                    if (at >= 0) end = at + 5;
                }
                if (end >= 0)
                {
                    Buffer.RemoveRange(0, end);
                    return bytes[..end];
                }
                if (!await FillAsync(server, ct)) return null;
            }
        }

        public async Task WriteAsync(string reply, CancellationToken ct)
        {
            await Stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"), ct);
            await Stream.FlushAsync(ct);
        }
    }

    private async Task SessionAsync(Socket client)
    {
        var ct = _stop.Token;
        var s = new Session(new NetworkStream(client, ownsSocket: true));
        int closed = 0;
        try
        {
            await s.WriteAsync(Greeting, ct);
            string lhlo = "";
            string? mail = null;
            var rcpts = new List<string>();
            var accepted = new List<string>();
            while (await s.ReadLineAsync(this, ct) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "LHLO" when LhloRefusal is not null:
                        await s.WriteAsync(LhloRefusal, ct);
                        break;
                    case "LHLO":
                        lhlo = line;
                        var caps = Capabilities.ToList();
                        if (Certificate is not null && !s.Tls) caps.Add("STARTTLS");
                        var reply = new StringBuilder("250");
                        reply.Append(caps.Count > 0 ? "-" : " ").Append("lmtp.test");
                        for (int i = 0; i < caps.Count; i++) reply.Append("\r\n250").Append(i == caps.Count - 1 ? " " : "-").Append(caps[i]);
                        await s.WriteAsync(reply.ToString(), ct);
                        break;
                    case "STARTTLS" when Certificate is not null && !s.Tls:
                        await s.WriteAsync("220 2.0.0 Begin TLS", ct);
                        var ssl = new SslStream(s.Stream);
                        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate }, ct);
                        s.Stream = ssl;
                        s.Buffer.Clear();
                        s.Tls = true;
                        break;
                    case "MAIL":
                        var mailReply = MailReply(line);
                        if (mailReply.StartsWith('2')) { mail = line; rcpts.Clear(); accepted.Clear(); }
                        await s.WriteAsync(mailReply, ct);
                        if (mailReply.StartsWith("421", StringComparison.Ordinal)) return;
                        break;
                    case "RCPT":
                        var address = line[(line.IndexOf('<') + 1)..line.IndexOf('>')];
                        var rcptReply = RcptReply(address);
                        rcpts.Add(line);
                        if (rcptReply.StartsWith('2')) accepted.Add(address);
                        await s.WriteAsync(rcptReply, ct);
                        if (rcptReply.StartsWith("421", StringComparison.Ordinal)) return;
                        break;
                    case "DATA":
                        if (mail is null || accepted.Count == 0)
                        {
                            await s.WriteAsync("503 5.5.1 No valid recipients", ct);
                            break;
                        }
                        await s.WriteAsync(DataReply, ct);
                        if (!DataReply.StartsWith("354", StringComparison.Ordinal)) break;
                        var wire = await s.ReadDataAsync(this, ct);
                        if (wire is null) return;
                        _transactions.Enqueue(new FakeLmtpTransaction(lhlo, mail, rcpts.ToList(), wire, s.Tls));
                        if (HoldAfterData is { } hold) await hold.WaitAsync(ct);
                        for (int i = 0; i < accepted.Count; i++)
                        {
                            if (DropAfterDataReplies is { } drop && i >= drop) return;
                            await s.WriteAsync(AfterData(accepted[i]), ct);
                        }
                        mail = null;
                        break;
                    case "RSET":
                        mail = null;
                        await s.WriteAsync("250 2.0.0 OK", ct);
                        break;
                    case "QUIT":
                        // Closed as far as concurrency goes before the client hears 221 (it waits for it before
                        // freeing its connection slot): otherwise its next connection could be counted next to this one.
                        if (Interlocked.Exchange(ref closed, 1) == 0) Interlocked.Decrement(ref _open);
                        await s.WriteAsync("221 2.0.0 Bye", ct);
                        return;
                    default:
                        await s.WriteAsync("500 5.5.1 Unknown command", ct);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
        finally
        {
            if (Interlocked.Exchange(ref closed, 1) == 0) Interlocked.Decrement(ref _open);
            await s.Stream.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        await Task.WhenAll(_sessions);
        _stop.Dispose();
    }
}
