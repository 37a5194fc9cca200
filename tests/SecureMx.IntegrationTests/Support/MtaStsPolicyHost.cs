using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// An MTA-STS policy host of the test bed (RFC 8461 §3.3): HTTPS on one endpoint, the certificate
/// chosen by the SNI name among the ones it was given (leaf and chain; a name without a certificate, or
/// no SNI at all, fails the handshake), answering <c>GET /.well-known/mta-sts.txt</c> over HTTP/1.1
/// with the policy the test set for that name (<see cref="SetPolicy"/>; 404 for any other path or a
/// name without a policy). It can be stopped (connection refused) and started again, and it records
/// every request, so a test can tell a fetch from a cache hit.
/// </summary>
public sealed class MtaStsPolicyHost : IAsyncDisposable
{
    /// <summary>The path of the policy (RFC 8461 §3.3).</summary>
    public const string PolicyPath = "/.well-known/mta-sts.txt";

    private const int MaxRequestHead = 8 * 1024;

    private readonly Dictionary<string, SslStreamCertificateContext> _certificates = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _policies = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<MtaStsPolicyRequest> _requests = [];
    private readonly object _lock = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private int _handshakeFailures;

    public IPEndPoint Endpoint { get; }

    /// <param name="endpoint">Where it listens (the address of the mta-sts names on the bed, port 443 or the instance's mtaSts.policyPort).</param>
    /// <param name="certificates">The certificates it may present, chosen by the SNI name matching their <see cref="TestCertificate.DnsName"/>.</param>
    public MtaStsPolicyHost(IPEndPoint endpoint, IEnumerable<TestCertificate> certificates)
    {
        Endpoint = endpoint;
        foreach (var c in certificates)
            _certificates[c.DnsName] = SslStreamCertificateContext.Create(c.Leaf, new X509Certificate2Collection(c.Issuers.ToArray()), offline: true);
    }

    /// <summary>
    /// Whether answers carry Content-Length (default). Without it the body ends where the host closes the
    /// connection (HTTP/1.1 with Connection: close): a reader must stop at its own limit, not the header's.
    /// </summary>
    public bool SendContentLength { get; set; } = true;

    /// <summary>
    /// When set, the body is sent one byte per interval after the header (a host that trickles its answer:
    /// only a limit on the whole fetch stops a client from waiting for it); the connection is then kept up
    /// to 10 minutes instead of 15 s.
    /// </summary>
    public TimeSpan? DripInterval { get; set; }

    /// <summary>Whether it accepts connections now.</summary>
    public bool Running { get { lock (_lock) return _listener is not null; } }

    /// <summary>Requests answered so far, oldest first.</summary>
    public IReadOnlyList<MtaStsPolicyRequest> Requests { get { lock (_lock) return [.. _requests]; } }

    /// <summary>The User-Agent of the tests' own requests (<see cref="PolicyFetches"/> leaves them out).</summary>
    public const string TestAgent = "securemx-test-bed-check";

    /// <summary>Policy fetches by the server under test (not <see cref="TestAgent"/>) answered with 200 for <paramref name="host"/> (mta-sts.DOMAIN).</summary>
    public IReadOnlyList<MtaStsPolicyRequest> Fetches(string host) => Requests
        .Where(r => r.Status == 200 && r.UserAgent != TestAgent && string.Equals(r.ServerName, host, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>How many <see cref="Fetches"/> there were.</summary>
    public int PolicyFetches(string host) => Fetches(host).Count;

    /// <summary>TLS handshakes that failed (a client that did not trust the certificate, an SNI name without one).</summary>
    public int HandshakeFailures => Volatile.Read(ref _handshakeFailures);

    /// <summary>Serves <paramref name="policy"/> (the body, as is) for <paramref name="host"/>; null: 404 from now on.</summary>
    public void SetPolicy(string host, string? policy)
    {
        lock (_lock)
        {
            if (policy is null) _policies.Remove(host);
            else _policies[host] = policy;
        }
    }

    /// <summary>Listens (again). Binding may fail only if something else holds the endpoint.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_listener is not null) return;
            var listener = new TcpListener(Endpoint);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _stop = new CancellationTokenSource();
            _loop = AcceptAsync(listener, _stop.Token);
        }
    }

    /// <summary>Stops listening: from now on a client's connection is refused (the host is "gone").</summary>
    public async Task StopAsync()
    {
        Task? loop;
        lock (_lock)
        {
            if (_listener is null) return;
            _stop!.Cancel();
            _listener.Stop();
            _listener = null;
            loop = _loop;
        }
        if (loop is not null) await loop;
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        var connections = new List<Task>();
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(ct); }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException) { break; }
            connections.Add(ServeAsync(client, ct));
            connections.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var drip = DripInterval;
            timeout.CancelAfter(drip is null ? TimeSpan.FromSeconds(15) : TimeSpan.FromMinutes(10));
            string? serverName = null;
            try
            {
                await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsServerAsync((_, hello, _, _) =>
                {
                    serverName = hello.ServerName;
                    SslStreamCertificateContext? context;
                    lock (_lock) _certificates.TryGetValue(hello.ServerName ?? "", out context);
                    if (context is null) throw new AuthenticationException($"no certificate for the SNI name '{hello.ServerName}'");
                    return ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = context,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                    });
                }, null, timeout.Token);

                var head = await ReadHeadAsync(tls, timeout.Token);
                if (head is null) return;
                var lines = head.Split("\r\n");
                var parts = lines[0].Split(' ');
                string method = parts.Length == 3 ? parts[0] : "", path = parts.Length == 3 ? parts[1] : "";
                string? Field(string field) => lines.Skip(1).Select(l => l.Split(':', 2))
                    .Where(p => p.Length == 2 && p[0].Trim().Equals(field, StringComparison.OrdinalIgnoreCase)).Select(p => p[1].Trim()).FirstOrDefault();
                string? body;
                lock (_lock) _policies.TryGetValue(serverName ?? "", out body);
                int status = method == "GET" && path == PolicyPath && body is not null ? 200 : method == "GET" ? 404 : 405;
                var content = status == 200 ? body! : status == 404 ? "not found\n" : "method not allowed\n";
                var bytes = Encoding.UTF8.GetBytes(content);
                var response = $"HTTP/1.1 {status} {(status == 200 ? "OK" : status == 404 ? "Not Found" : "Method Not Allowed")}\r\n"
                    + "Content-Type: text/plain\r\n" + (SendContentLength ? $"Content-Length: {bytes.Length}\r\n" : "") + "Connection: close\r\n\r\n";
                // Recorded before the answer: a client may hang up in the middle of an oversized body.
                lock (_lock) _requests.Add(new MtaStsPolicyRequest(DateTimeOffset.UtcNow, serverName, Field("Host"), Field("User-Agent"), method, path, status));
                await tls.WriteAsync(Encoding.ASCII.GetBytes(response), timeout.Token);
                if (drip is { } interval)
                {
                    await tls.FlushAsync(timeout.Token);
                    for (int i = 0; i < bytes.Length; i++)
                    {
                        await Task.Delay(interval, timeout.Token);
                        await tls.WriteAsync(bytes.AsMemory(i, 1), timeout.Token);
                        await tls.FlushAsync(timeout.Token);
                    }
                }
                else
                {
                    await tls.WriteAsync(bytes, timeout.Token);
                }
                await tls.FlushAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                if (ex is AuthenticationException) Interlocked.Increment(ref _handshakeFailures);
            }
        }
    }

    /// <summary>The request line and header fields (up to the empty line), or null if the client sent less or too much.</summary>
    private static async Task<string?> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxRequestHead];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0) return null;
            filled += n;
            var text = Encoding.ASCII.GetString(buffer, 0, filled);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0) return text[..end];
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop?.Dispose();
    }
}

/// <summary>One request the policy host answered: when, the SNI name, the Host and User-Agent header fields, method, path and status.</summary>
public sealed record MtaStsPolicyRequest(DateTimeOffset At, string? ServerName, string? Host, string? UserAgent, string Method, string Path, int Status);
