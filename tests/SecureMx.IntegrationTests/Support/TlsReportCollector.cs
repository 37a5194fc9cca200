using System.Collections.Concurrent;
using System.Net;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A TLS report collector (RFC 8460 §5.4) on a test-bed address: HTTPS with the given certificate
/// (<see cref="HttpsHostStub"/>), reads each request's Content-Length body (at most 1 MiB), records head and
/// body, answers 200. Not listening until <see cref="Start"/>: a collector that is down refuses the connection.
/// </summary>
public sealed class TlsReportCollector(IPEndPoint endpoint, TestCertificate certificate) : IAsyncDisposable
{
    private HttpsHostStub? _host;

    /// <summary>Each POST received: its head (request line and headers) and its body.</summary>
    public ConcurrentQueue<(string Head, byte[] Body)> Posts { get; } = new();

    public void Start() => _host = new HttpsHostStub(certificate, RespondAsync, endpoint);

    private async Task RespondAsync(string head, Stream stream, CancellationToken ct)
    {
        var body = await HttpsHostStub.ReadBodyAsync(head, stream, ct);
        Posts.Enqueue((head, body));
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}
