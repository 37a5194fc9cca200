using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// A minimal SMTP client that can STARTTLS with exactly the protocol versions and cipher suites a test
/// names (e.g. TLS 1.2 with one CBC suite: a "weak but encrypted" sender), and then keep talking.
/// Replies come back as their lines joined with '\n'.
/// </summary>
internal sealed class TlsSmtpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private Stream _stream = null!;
    private readonly List<byte> _pending = new();

    /// <summary>The greeting (220 ...).</summary>
    public string Greeting { get; private set; } = "";

    /// <summary>The TLS layer after <see cref="StartTlsAsync"/>.</summary>
    public SslStream? Tls { get; private set; }

    public static async Task<TlsSmtpClient> ConnectAsync(IPEndPoint server)
    {
        var c = new TlsSmtpClient();
        await c._tcp.ConnectAsync(server.Address, server.Port);
        c._stream = c._tcp.GetStream();
        c.Greeting = await c.ReadReplyAsync();
        return c;
    }

    public async Task<string> CommandAsync(string line)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
        await _stream.FlushAsync();
        return await ReadReplyAsync();
    }

    /// <summary>STARTTLS, then a handshake offering only <paramref name="protocols"/> and, if given, only <paramref name="cipherSuites"/> (certificate not checked).</summary>
    public async Task StartTlsAsync(string targetHost, SslProtocols protocols, IEnumerable<TlsCipherSuite>? cipherSuites = null)
    {
        var reply = await CommandAsync("STARTTLS");
        Assert.True(reply.StartsWith("220", StringComparison.Ordinal), "STARTTLS: " + reply);
        Assert.True(_pending.Count == 0, "the server sent more after its 220 to STARTTLS");
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = protocols,
            CipherSuitesPolicy = cipherSuites is null ? null : new CipherSuitesPolicy(cipherSuites),
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        _stream = ssl;
        Tls = ssl;
    }

    public async Task<string> ReadReplyAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var lines = new List<string>();
        var buf = new byte[4096];
        while (true)
        {
            int idx = _pending.IndexOf((byte)'\n');
            if (idx < 0)
            {
                int n = await _stream.ReadAsync(buf, cts.Token);
                if (n == 0) throw new IOException("connection closed while reading a reply; got: " + string.Join(" | ", lines));
                _pending.AddRange(buf.AsSpan(0, n).ToArray());
                continue;
            }
            var line = Encoding.UTF8.GetString(_pending.GetRange(0, idx).ToArray()).TrimEnd('\r');
            _pending.RemoveRange(0, idx + 1);
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-') return string.Join("\n", lines);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null) await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
