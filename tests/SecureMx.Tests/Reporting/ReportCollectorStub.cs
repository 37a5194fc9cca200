using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SecureMx.TestKit;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// An HTTPS report collector on 127.0.0.1 (a private CA's certificate): reads each request's head and
/// its Content-Length body, records both, and answers with <see cref="Status"/> (and a Location for a
/// redirect), or not at all while <see cref="Silent"/>.
/// </summary>
internal sealed class ReportCollectorStub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly SslStreamCertificateContext _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ReportCollectorStub(TestCertificate certificate)
    {
        _certificate = SslStreamCertificateContext.Create(certificate.Leaf, [.. certificate.Issuers], offline: true);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The status of the answer (200 unless a test sets another).</summary>
    public int Status { get; set; } = 200;

    /// <summary>Never answers (a hanging collector).</summary>
    public bool Silent { get; set; }

    /// <summary>Each request: its head and its body.</summary>
    public ConcurrentQueue<(string Head, byte[] Body)> Requests { get; } = new();

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
            var length = head.ToString().Split("\r\n")
                .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
            var body = new byte[length];
            await tls.ReadExactlyAsync(body, _stop.Token);
            Requests.Enqueue((head.ToString(), body));
            if (Silent)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }
            var location = Status is >= 300 and < 400 ? "Location: https://elsewhere.example/\r\n" : "";
            await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {Status} Whatever\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
        }
        catch (Exception)
        {
            // a test that ends mid-request, a client that gave up
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
