using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A TLS report collector (RFC 8460 §5.4) on a test-bed address: HTTPS with the given certificate,
/// reads each request's head and its Content-Length body (at most 1 MiB), records both, answers 200.
/// Not listening until <see cref="Start"/>: a collector that is down refuses the connection.
/// </summary>
public sealed class TlsReportCollector(IPEndPoint endpoint, TestCertificate certificate) : IAsyncDisposable
{
    private readonly SslStreamCertificateContext _certificate = SslStreamCertificateContext.Create(certificate.Leaf, [.. certificate.Issuers], offline: true);
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task? _accepting;

    /// <summary>Each POST received: its head (request line and headers) and its body.</summary>
    public ConcurrentQueue<(string Head, byte[] Body)> Posts { get; } = new();

    public void Start()
    {
        _listener = new TcpListener(endpoint);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync(_listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(_stop.Token);
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
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            limit.CancelAfter(TimeSpan.FromSeconds(30));
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = _certificate }, limit.Token);
            var head = new StringBuilder();
            var one = new byte[1];
            while (head.Length < 16_384 && !head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await tls.ReadAsync(one, limit.Token) == 0) return;
                head.Append((char)one[0]);
            }
            var length = head.ToString().Split("\r\n")
                .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
            var body = new byte[Math.Min(length, 1 << 20)];
            await tls.ReadExactlyAsync(body, limit.Token);
            Posts.Enqueue((head.ToString(), body));
            await tls.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), limit.Token);
        }
        catch (Exception)
        {
            // a client that gave up; the test looks at what was recorded
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        if (_accepting is not null) await _accepting;
        _stop.Dispose();
    }
}
