using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.TestKit;

/// <summary>
/// An HTTPS host (on 127.0.0.1 and a free port unless an endpoint is given) for the tests of the HTTPS clients
/// (the MTA-STS policy fetch, the TLS report POST, a test bed's report collector): TLS with the given certificate (and its issuers), the request's head read, then whatever the test's
/// responder does with the rest — a proper policy, a redirect, a wrong content type, an endless or slow body,
/// reading a posted report. Records each request's head.
/// </summary>
public sealed class HttpsHostStub : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly SslStreamCertificateContext _certificate;
    private readonly Func<string, Stream, CancellationToken, Task> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="respond">Writes the whole response after the request's head has been read.</param>
    public HttpsHostStub(TestCertificate certificate, Func<Stream, CancellationToken, Task> respond, IPEndPoint? endpoint = null)
        : this(certificate, (_, stream, ct) => respond(stream, ct), endpoint)
    {
    }

    /// <param name="respond">Given the request's head, reads what else it needs (a body) and writes the whole response.</param>
    public HttpsHostStub(TestCertificate certificate, Func<string, Stream, CancellationToken, Task> respond, IPEndPoint? endpoint = null)
    {
        _listener = new TcpListener(endpoint ?? new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _certificate = SslStreamCertificateContext.Create(certificate.Leaf, [.. certificate.Issuers], offline: true);
        _respond = respond;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The head (request line and headers) of every request read.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>A 200 with <paramref name="contentType"/> and <paramref name="body"/> (and its Content-Length).</summary>
    public static Func<Stream, CancellationToken, Task> Answer(string body, string contentType = "text/plain", int status = 200, string extraHeaders = "") =>
        Raw(status, $"Content-Type: {contentType}\r\n{extraHeaders}", Encoding.UTF8.GetBytes(body));

    /// <summary>The request's body: its Content-Length (none: empty), at most <paramref name="max"/> bytes of it.</summary>
    public static async Task<byte[]> ReadBodyAsync(string head, Stream stream, CancellationToken ct, int max = 1 << 20)
    {
        var length = head.Split("\r\n")
            .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = new byte[Math.Min(length, max)];
        await stream.ReadExactlyAsync(body, ct);
        return body;
    }

    /// <summary>Status <paramref name="status"/> with the given header lines (each ending in CRLF) and body.</summary>
    public static Func<Stream, CancellationToken, Task> Raw(int status, string headers, byte[] body) => async (stream, ct) =>
    {
        var head = $"HTTP/1.1 {status} Whatever\r\n{headers}Content-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
        await stream.WriteAsync(body, ct);
    };

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        try
        {
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = _certificate }, _stop.Token);
            var head = new StringBuilder();
            var one = new byte[1];
            while (head.Length < 16_384 && !head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await tls.ReadAsync(one, _stop.Token) == 0) return;
                head.Append((char)one[0]);
            }
            Requests.Enqueue(head.ToString());
            await _respond(head.ToString(), tls, _stop.Token);
            await tls.FlushAsync(_stop.Token);
        }
        catch (Exception)
        {
            // The client gave up (a refused certificate, its limit): that is what the tests provoke.
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
