using System.Collections.Concurrent;
using System.Text;
using SecureMx.TestKit;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// An HTTPS report collector on 127.0.0.1 (a private CA's certificate, <see cref="HttpsHostStub"/>): reads each
/// request's Content-Length body, records head and body, and answers with <see cref="Status"/> (and a Location for
/// a redirect), or not at all while <see cref="Silent"/>.
/// </summary>
internal sealed class ReportCollectorStub : IAsyncDisposable
{
    private readonly HttpsHostStub _host;

    public ReportCollectorStub(TestCertificate certificate) => _host = new HttpsHostStub(certificate, RespondAsync);

    public int Port => _host.Port;

    /// <summary>The status of the answer (200 unless a test sets another).</summary>
    public int Status { get; set; } = 200;

    /// <summary>Never answers (a hanging collector).</summary>
    public bool Silent { get; set; }

    /// <summary>Each request: its head and its body.</summary>
    public ConcurrentQueue<(string Head, byte[] Body)> Requests { get; } = new();

    private async Task RespondAsync(string head, Stream stream, CancellationToken ct)
    {
        var body = await HttpsHostStub.ReadBodyAsync(head, stream, ct);
        Requests.Enqueue((head, body));
        if (Silent)
        {
            await Task.Delay(Timeout.Infinite, ct);
            return;
        }
        var location = Status is >= 300 and < 400 ? "Location: https://elsewhere.example/\r\n" : "";
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {Status} Whatever\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n"), ct);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
