using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>One SMTP reply as received: the code and the text of each line (after "NNN-" / "NNN ").</summary>
public sealed record TestReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The enhanced status code of the last line ("5.5.1"), or null.</summary>
    public string? Enhanced
    {
        get
        {
            var last = Lines[^1];
            int sp = last.IndexOf(' ');
            var first = sp < 0 ? last : last[..sp];
            var parts = first.Split('.');
            return parts.Length == 3 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)) ? first : null;
        }
    }

    public string Text => string.Join("\n", Lines);

    public override string ToString() => $"{Code} {Text}";
}

/// <summary>
/// A byte-exact SMTP client for tests: writes exactly what it is given, reads replies line by line,
/// and can switch to TLS. Every read has a timeout so a server that hangs fails the test instead of the run.
/// </summary>
public sealed class RawSmtpClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    public SslStream? Tls { get; private set; }

    /// <summary>True when bytes have arrived that no read has consumed yet.</summary>
    public bool HasBufferedData => _start < _end;

    private RawSmtpClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawSmtpClient> ConnectAsync(IPEndPoint endpoint)
    {
        var tcp = new TcpClient(endpoint.AddressFamily) { NoDelay = true };
        await tcp.ConnectAsync(endpoint.Address, endpoint.Port);
        return new RawSmtpClient(tcp);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
        await _stream.FlushAsync(cts.Token);
    }

    private async Task<bool> FillAsync(TimeSpan timeout)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var cts = new CancellationTokenSource(timeout);
        int n;
        try
        {
            n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no data from the server within {timeout.TotalSeconds} s");
        }
        if (n == 0) return false;
        _end += n;
        return true;
    }

    /// <summary>Reads one line (without CRLF); null when the server closed the connection. Fails on a bare LF.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                Assert.True(lf > _start && _buffer[lf - 1] == (byte)'\r', "server sent a line without CRLF");
                var line = Encoding.UTF8.GetString(_buffer, _start, lf - 1 - _start);
                _start = lf + 1;
                return line;
            }
            bool more;
            try
            {
                more = await FillAsync(timeout ?? DefaultTimeout);
            }
            catch (IOException)
            {
                more = false; // reset by peer counts as closed
            }
            if (!more)
            {
                Assert.True(_start == _end, "connection closed in the middle of a reply line");
                return null;
            }
        }
    }

    /// <summary>Reads one complete (possibly multi-line) reply; null when the connection is closed.</summary>
    public async Task<TestReply?> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        int code = 0;
        while (true)
        {
            var line = await ReadLineAsync(timeout);
            if (line is null)
            {
                Assert.True(lines.Count == 0, "connection closed in the middle of a multi-line reply");
                return null;
            }
            Assert.True(line.Length >= 3 && line[..3].All(char.IsAsciiDigit), $"malformed reply line: {line}");
            int c = int.Parse(line[..3], System.Globalization.CultureInfo.InvariantCulture);
            if (lines.Count > 0) Assert.Equal(code, c);
            code = c;
            bool last = line.Length == 3 || line[3] == ' ';
            Assert.True(last || line[3] == '-', $"malformed reply line: {line}");
            lines.Add(line.Length > 4 ? line[4..] : "");
            if (last) return new TestReply(code, lines);
        }
    }

    /// <summary>Reads a reply and checks its code (and enhanced code when given).</summary>
    public async Task<TestReply> ExpectAsync(int code, string? enhanced = null, TimeSpan? timeout = null)
    {
        var reply = await ReadReplyAsync(timeout);
        Assert.True(reply is not null, $"expected {code}, but the connection was closed");
        Assert.True(reply.Code == code, $"expected {code}, got {reply}");
        if (enhanced is not null) Assert.True(reply.Enhanced == enhanced, $"expected {code} {enhanced}, got {reply}");
        return reply;
    }

    /// <summary>Sends one command line (CRLF added) and checks the reply.</summary>
    public async Task<TestReply> CommandAsync(string line, int code, string? enhanced = null)
    {
        await SendAsync(line + "\r\n");
        return await ExpectAsync(code, enhanced);
    }

    public Task<TestReply> EhloAsync(string name = "client.test") => CommandAsync("EHLO " + name, 250);

    /// <summary>Asserts that the server closes the connection without sending anything more.</summary>
    public async Task ExpectClosedAsync(TimeSpan? timeout = null)
    {
        var reply = await ReadReplyAsync(timeout);
        Assert.True(reply is null, $"expected the connection to be closed, got {reply}");
    }

    /// <summary>Reads and ignores whatever comes until the server closes the connection (fails on timeout).</summary>
    public async Task DrainUntilClosedAsync(TimeSpan? timeout = null)
    {
        _start = _end = 0;
        try
        {
            while (await FillAsync(timeout ?? DefaultTimeout)) _start = _end = 0;
        }
        catch (IOException)
        {
            // reset by peer: closed as well
        }
    }

    /// <summary>
    /// STARTTLS handshake as a client that accepts the test server's self-signed certificate. With
    /// <paramref name="legacy"/> at OpenSSL security level 0, as an old client would be (TLS 1.0/1.1 need it).
    /// </summary>
    public async Task UpgradeToTlsAsync(SslProtocols protocols = SslProtocols.None, TlsCipherSuite[]? ciphers = null, bool legacy = false)
    {
        Assert.True(_start == _end, "unread plaintext bytes before the TLS handshake");
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = SmtpTestServer.Hostname,
            EnabledSslProtocols = protocols,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            CipherSuitesPolicy = ciphers is null ? null : new CipherSuitesPolicy(ciphers),
#pragma warning disable SYSLIB0040 // the only per-stream way to security level 0 (see TlsProfile.LowestSecurityLevel)
            EncryptionPolicy = legacy ? EncryptionPolicy.AllowNoEncryption : EncryptionPolicy.RequireEncryption,
#pragma warning restore SYSLIB0040
        }, cts.Token);
        Tls = ssl;
        _stream = ssl;
    }

    /// <summary>MAIL (with <paramref name="mailParameters"/>, if any), RCPT… and DATA with the content (already dot-stuffed, ending in CRLF); returns the queue id.</summary>
    public async Task<string> SendMessageAsync(string from, IEnumerable<string> to, byte[] content, string mailParameters = "")
    {
        await CommandAsync($"MAIL FROM:<{from}>{(mailParameters.Length > 0 ? " " + mailParameters : "")}", 250);
        foreach (var r in to) await CommandAsync($"RCPT TO:<{r}>", 250);
        await CommandAsync("DATA", 354);
        await SendAsync(content);
        await SendAsync(".\r\n");
        var reply = await ExpectAsync(250, "2.0.0");
        return QueueId(reply);
    }

    /// <summary>The id from "250 2.0.0 Ok: queued as ID".</summary>
    public static string QueueId(TestReply reply)
    {
        const string marker = "queued as ";
        var text = reply.Lines[^1];
        int i = text.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(i >= 0, $"no queue id in {reply}");
        return text[(i + marker.Length)..].Trim();
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync(); } catch (IOException) { }
        _tcp.Dispose();
    }
}
