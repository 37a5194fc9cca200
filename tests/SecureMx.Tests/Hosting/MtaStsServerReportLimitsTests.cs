using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.AspNetCore.Builder;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.MtaSts;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// POST /tlsrpt on the MTA-STS listener against hostile senders, on a real Kestrel: a body that does not arrive in time is 408;
/// a sender with too many bodies arriving at once is 503 with Retry-After (its slow bodies hold no parse slot); others are still taken.
/// </summary>
public sealed class MtaStsServerReportLimitsTests : IAsyncDisposable
{
    private const string Domain = TlsReportSamples.Domain;
    private const string ReportHost = "mta-sts." + Domain;

    private readonly TempDirectory _dir = new();
    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();
    private readonly IPEndPoint _endpoint;
    private readonly WebApplication _app;

    public MtaStsServerReportLimitsTests()
    {
        _store.Mailboxes.AddDomain(Domain);
        var (cert, key) = CertificateFactory.CreateSelfSigned(ReportHost, TimeProvider.System);
        File.WriteAllText(_dir.Combine(ReportHost + ".pem"), cert);
        File.WriteAllText(_dir.Combine(ReportHost + ".key"), key);
        var options = new SecureMxOptions { Hostname = "mx.provider.test" };
        var intake = new TlsReportIntake(new TlsReportReader(options.TlsReporting), new TlsReportRepository(_store.Database, options.Logs, TimeProvider.System),
            _store.Mailboxes.IsHosted, TimeProvider.System, _log);
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            _endpoint = (IPEndPoint)probe.LocalEndpoint;
        }
        _app = MtaStsServer.Build(_endpoint, new MtaStsCertificateDirectory(_dir.Path, TimeProvider.System, NullLogger.Instance),
            new HostedMtaStsPolicies(_store.Policies, options, NullLogger.Instance), NullLoggerFactory.Instance, intake, options.TlsReporting.MaxReportBytes);
        _app.StartAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _store.Dispose();
        _dir.Dispose();
    }

    /// <summary>A TLS connection that has sent the request line, headers and the first <paramref name="sent"/> bytes of a body of <paramref name="length"/>.</summary>
    private async Task<(TcpClient Tcp, SslStream Ssl)> StartPostAsync(byte[] body, int sent, int? length = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(_endpoint, TestContext.Current.CancellationToken);
        var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = ReportHost }, TestContext.Current.CancellationToken);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"POST /tlsrpt HTTP/1.1\r\nHost: {ReportHost}\r\nContent-Type: application/tlsrpt+json\r\n" +
            $"Content-Length: {length ?? body.Length}\r\n\r\n"), TestContext.Current.CancellationToken);
        await ssl.WriteAsync(body.AsMemory(0, sent), TestContext.Current.CancellationToken);
        await ssl.FlushAsync(TestContext.Current.CancellationToken);
        return (tcp, ssl);
    }

    private static async Task<string> StatusLineAsync(SslStream ssl)
    {
        using var reader = new StreamReader(ssl, Encoding.ASCII, leaveOpen: true);
        return await reader.ReadLineAsync(TestContext.Current.CancellationToken) ?? "";
    }

    private static async Task<string> ResponseAsync(SslStream ssl)
    {
        using var reader = new StreamReader(ssl, Encoding.ASCII, leaveOpen: true);
        var text = new StringBuilder();
        while (await reader.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
        {
            text.Append(line).Append('\n');
            if (line.Length == 0) break;
        }
        return text.ToString();
    }

    private static byte[] Report() => TlsReportSamples.Json(TlsReportSamples.RfcExample);

    [Fact]
    public async Task ABodyThatStopsArrivingIs408WithItsLogLineAndNothingStored()
    {
        var started = DateTime.UtcNow;
        var (tcp, ssl) = await StartPostAsync(Report(), 10);
        using (tcp)
        await using (ssl)
            Assert.StartsWith("HTTP/1.1 408", await StatusLineAsync(ssl));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, MtaStsServer.ReportReadTimeout + TimeSpan.FromSeconds(3));
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning: tls report from 127.0.0.1 refused: the body did not arrive in full", StringComparison.Ordinal));
        Assert.Equal(0, _store.Count("tls_reports_received"));
    }

    [Fact]
    public async Task MoreBodiesArrivingAtOnceFromOneAddressThanAllowedAre503AndTheNextIsTakenOnceTheyAreGone()
    {
        var body = Report();
        var slow = new List<(TcpClient Tcp, SslStream Ssl)>();
        for (int i = 0; i < MtaStsServer.ConcurrentBodiesPerAddress; i++) slow.Add(await StartPostAsync(body, 10));
        await Task.Delay(500, TestContext.Current.CancellationToken); // the slow bodies are being read

        var (tcp, ssl) = await StartPostAsync(body, body.Length);
        using (tcp)
        await using (ssl)
        {
            var response = await ResponseAsync(ssl);
            Assert.StartsWith("HTTP/1.1 503", response);
            Assert.Contains("Retry-After: 60", response);
        }
        Assert.Contains($"Warning: tls report from 127.0.0.1 refused: not read now, more than {MtaStsServer.ConcurrentBodiesPerAddress} report bodies arriving at once from this address", _log.Lines);

        // The slow senders finish their bodies: taken (they held no parse slot, and one address's limit is free again afterwards).
        foreach (var (t, s) in slow)
        {
            await s.WriteAsync(body.AsMemory(10), TestContext.Current.CancellationToken);
            Assert.StartsWith("HTTP/1.1 200", await StatusLineAsync(s));
            await s.DisposeAsync();
            t.Dispose();
        }
        var (tcp2, ssl2) = await StartPostAsync(body, body.Length);
        using (tcp2)
        await using (ssl2)
            Assert.StartsWith("HTTP/1.1 200", await StatusLineAsync(ssl2));
        Assert.Equal(1, _store.Count("tls_reports_received"));
    }
}
