using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using MinDataRate = Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.MtaSts;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// The listener of listeners.mtaSts: HTTPS serving <c>GET /.well-known/mta-sts.txt</c> for
/// <c>mta-sts.DOMAIN</c> of every hosted domain (RFC 8461 §3.3), the policy as <c>text/plain</c>.
/// The certificate is chosen by the name the client sends (SNI) from <see cref="MtaStsCertificateDirectory"/>;
/// a name without one is refused in the handshake. Any other path is 404, as is a Host that is not
/// mta-sts. and a hosted domain; a Host other than the SNI name is 421 (the certificate shown was for
/// another name); other methods 405. The request line and headers are small
/// (8 KiB in all: 431 above), headers must arrive within 10 s, and an idle connection is closed after 10 s.
/// <para>
/// With a TLS report intake, also <c>POST /tlsrpt</c> (<see cref="HostedTlsRptRecord.HttpsPath"/>): a TLS report about DOMAIN
/// (RFC 8460 §5.4, the https: rua of the <c>_smtp._tls</c> record), <c>application/tlsrpt+gzip</c> or <c>+json</c>. The only body
/// read: Content-Length required (411) and at most tlsReporting.maxReportBytes (413), read as it arrives (at least
/// <see cref="MinReportBytesPerSecond"/>, all of it within <see cref="ReportReadTimeout"/>: 408), at most
/// <see cref="ConcurrentBodiesPerAddress"/> bodies per source address and <see cref="ConcurrentBodies"/> in all, then parsed in one of
/// <see cref="ConcurrentReports"/> slots (503 with Retry-After beyond each); decoded as its Content-Type declares; 200 when stored
/// (or stored before), 400 with the reason when refused, 503 when the store does not answer.
/// </para>
/// </summary>
public static class MtaStsServer
{
    public const string PolicyPath = "/.well-known/mta-sts.txt";

    /// <summary>Connections at once (sending MTAs fetch a policy and go; 10 s keep-alive).</summary>
    public const int MaxConnections = 512;

    /// <summary>Request headers in all, request line included (Kestrel answers 431 or 414 above): a policy fetch needs a few hundred bytes.</summary>
    public const int MaxRequestHeadersBytes = 8 * 1024;

    /// <summary>The whole report body must arrive within this (a slow sender holds no connection for long; 408 after it).</summary>
    public static readonly TimeSpan ReportReadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Below this rate (after a grace period) Kestrel drops a body too (its MinRequestBodyDataRate): a trickle is cut before the deadline.</summary>
    public const double MinReportBytesPerSecond = 1024;

    /// <summary>Reports parsed and stored at once (each its body and JSON in memory); more are answered 503 with Retry-After.</summary>
    public const int ConcurrentReports = 8;

    /// <summary>Report bodies arriving at once, in all; more are answered 503 with Retry-After before a byte of the body is read.</summary>
    public const int ConcurrentBodies = 32;

    /// <summary>Report bodies arriving at once from one source address; more are answered 503 with Retry-After.</summary>
    public const int ConcurrentBodiesPerAddress = 2;

    public static WebApplication Build(IPEndPoint endpoint, MtaStsCertificateDirectory certificates, HostedMtaStsPolicies policies, ILoggerFactory logs,
        TlsReportIntake? reports = null, long maxReportBytes = 0, TimeSpan? reportReadTimeout = null)
    {
        var limits = new ReportLimits(reportReadTimeout ?? ReportReadTimeout);
        var ciphers = TlsProfile.Strict.CipherPolicy();
        var builder = WebEndpoint.CreateBuilder(endpoint, logs, maxRequestBodySize: reports is null ? 0 : maxReportBytes, maxConnections: MaxConnections, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            // Per connection, by SNI; no pair → the handshake fails (no default certificate).
            OnConnection = context => certificates.For(context.ClientHelloInfo.ServerName) is { } pair
                ? ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = pair.Context,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CipherSuitesPolicy = ciphers,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                })
                : ValueTask.FromException<SslServerAuthenticationOptions>(new AuthenticationException(
                    $"no MTA-STS certificate for the name '{Shorten(context.ClientHelloInfo.ServerName)}' in {certificates.Directory}")),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        }));
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            k.Limits.MaxRequestLineSize = 2048;
            k.Limits.MaxRequestHeaderCount = 50;
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(10); // a sender fetches one document: no idle connection held for minutes
            k.Limits.MinRequestBodyDataRate = new MinDataRate(MinReportBytesPerSecond, gracePeriod: TimeSpan.FromSeconds(5));
        });
        var app = builder.Build();
        app.Run(http => reports is not null && string.Equals(http.Request.Path.Value, HostedTlsRptRecord.HttpsPath, StringComparison.Ordinal)
            ? ReportAsync(http, reports, maxReportBytes, limits)
            : AnswerAsync(http, policies));
        return app;
    }

    /// <summary>The slots of the report endpoint: bodies arriving (in all and per source address), and reports parsed and stored.</summary>
    private sealed class ReportLimits(TimeSpan readTimeout)
    {
        public TimeSpan ReadTimeout => readTimeout;
        public SemaphoreSlim Parsing { get; } = new(ConcurrentReports);
        public SemaphoreSlim Bodies { get; } = new(ConcurrentBodies);
        private readonly Dictionary<string, int> _perAddress = new(StringComparer.Ordinal);

        public bool TryEnter(string address)
        {
            lock (_perAddress)
            {
                var n = _perAddress.GetValueOrDefault(address);
                if (n >= ConcurrentBodiesPerAddress) return false;
                _perAddress[address] = n + 1;
                return true;
            }
        }

        public void Leave(string address)
        {
            lock (_perAddress)
            {
                if (_perAddress[address] <= 1) _perAddress.Remove(address);
                else _perAddress[address]--;
            }
        }
    }

    /// <summary>POST /tlsrpt: one TLS report (RFC 8460 §5.4).</summary>
    private static async Task ReportAsync(HttpContext http, TlsReportIntake reports, long maxBytes, ReportLimits limits)
    {
        var (request, response) = (http.Request, http.Response);
        response.Headers.CacheControl = "no-store";
        if (!HttpMethods.IsPost(request.Method))
        {
            response.Headers.Allow = "POST";
            await Status(response, StatusCodes.Status405MethodNotAllowed);
            return;
        }
        var host = request.Host.Host.TrimEnd('.').ToLowerInvariant();
        if (MtaStsCertificateDirectory.Normalize(host) is not { } reportHost)
        {
            await Status(response, StatusCodes.Status404NotFound);
            return;
        }
        var sni = http.Features.Get<ITlsHandshakeFeature>()?.HostName;
        if (sni is not null && !string.Equals(sni.TrimEnd('.'), reportHost, StringComparison.OrdinalIgnoreCase))
        {
            await Status(response, StatusCodes.Status421MisdirectedRequest);
            return;
        }
        var sender = http.Connection.RemoteIpAddress?.ToString() ?? "?";
        var type = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (type is not ("application/tlsrpt+gzip" or "application/tlsrpt+json"))
        {
            await Text(response, StatusCodes.Status415UnsupportedMediaType, "application/tlsrpt+gzip or application/tlsrpt+json");
            return;
        }
        if (request.ContentLength is not { } length)
        {
            await Status(response, StatusCodes.Status411LengthRequired);
            return;
        }
        if (length > maxBytes)
        {
            reports.LogRefused(sender, $"{length} bytes, more than {maxBytes}");
            await Status(response, StatusCodes.Status413PayloadTooLarge);
            return;
        }
        // Bodies arriving hold a connection and memory as fast as they come: a few per address, a bounded number in all.
        if (!limits.TryEnter(sender))
        {
            await BusyAsync(response, reports, sender, $"more than {ConcurrentBodiesPerAddress} report bodies arriving at once from this address");
            return;
        }
        byte[]? body;
        try
        {
            if (!limits.Bodies.Wait(0))
            {
                await BusyAsync(response, reports, sender, $"more than {ConcurrentBodies} report bodies arriving at once");
                return;
            }
            try
            {
                body = await ReadBodyAsync(http, reports, length, sender, limits.ReadTimeout);
            }
            finally
            {
                limits.Bodies.Release();
            }
        }
        finally
        {
            limits.Leave(sender);
        }
        if (body is null) return;
        // The parse slot only once the body is here: a slow sender holds none of them.
        if (!limits.Parsing.Wait(0))
        {
            await BusyAsync(response, reports, sender, $"more than {ConcurrentReports} reports being read at once");
            return;
        }
        try
        {
            await TakeAsync(http, reports, body, type == "application/tlsrpt+gzip", sender, reportHost);
        }
        finally
        {
            limits.Parsing.Release();
        }
    }

    private static Task BusyAsync(HttpResponse response, TlsReportIntake reports, string sender, string why)
    {
        reports.LogRefused(sender, "not read now, " + why);
        response.Headers.RetryAfter = "60";
        return Status(response, StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The body, read into a buffer that grows as it arrives (never Content-Length up front) within the deadline; null when it did not arrive (408 answered).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http, TlsReportIntake reports, long length, string sender, TimeSpan timeout)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(timeout);
        using var buffer = new MemoryStream((int)Math.Min(length, 64 * 1024));
        var chunk = new byte[16 * 1024];
        try
        {
            while (buffer.Length < length)
            {
                int n = await http.Request.Body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - buffer.Length)), deadline.Token);
                if (n == 0) throw new EndOfStreamException();
                buffer.Write(chunk, 0, n);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or EndOfStreamException or IOException or BadHttpRequestException)
        {
            reports.LogRefused(sender, "the body did not arrive in full within " + timeout.TotalSeconds + " s");
            if (!http.RequestAborted.IsCancellationRequested) await Status(http.Response, StatusCodes.Status408RequestTimeout);
            return null;
        }
        return buffer.ToArray();
    }

    private static async Task TakeAsync(HttpContext http, TlsReportIntake reports, byte[] body, bool gzip, string sender, string reportHost)
    {
        var response = http.Response;
        TlsReportIntakeOutcome outcome;
        try
        {
            outcome = reports.FromBody(body, gzip, sender, reportHost["mta-sts.".Length..]);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            reports.LogRefused(sender, "not stored now, the store does not answer: " + ex.Message);
            response.Headers.RetryAfter = "60";
            await Status(response, StatusCodes.Status503ServiceUnavailable);
            return;
        }
        if (outcome.Result == TlsReportIntakeResult.Refused) await Text(response, StatusCodes.Status400BadRequest, outcome.Reason ?? "refused");
        else await Text(response, StatusCodes.Status200OK, outcome.Result == TlsReportIntakeResult.Stored ? "stored" : "already stored");
    }

    private static Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text + "\n");
    }

    private static Task AnswerAsync(HttpContext http, HostedMtaStsPolicies policies)
    {
        var response = http.Response;
        response.Headers.CacheControl = "no-store";
        if (!string.Equals(http.Request.Path.Value, PolicyPath, StringComparison.Ordinal)) return Status(response, StatusCodes.Status404NotFound);
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            response.Headers.Allow = "GET";
            return Status(response, StatusCodes.Status405MethodNotAllowed);
        }
        var host = http.Request.Host.Host.TrimEnd('.').ToLowerInvariant();
        if (MtaStsCertificateDirectory.Normalize(host) is not { } policyHost) return Status(response, StatusCodes.Status404NotFound);
        var sni = http.Features.Get<ITlsHandshakeFeature>()?.HostName;
        if (sni is not null && !string.Equals(sni.TrimEnd('.'), policyHost, StringComparison.OrdinalIgnoreCase)) return Status(response, StatusCodes.Status421MisdirectedRequest);
        var answer = policies.Get(policyHost["mta-sts.".Length..]);
        if (answer.Policy is not { } policy)
        {
            if (answer.StoreFailure is null) return Status(response, StatusCodes.Status404NotFound);
            response.Headers.RetryAfter = "60";
            return Status(response, StatusCodes.Status503ServiceUnavailable);
        }
        // RFC 8461 §3.3: the policy is served with the media type text/plain.
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain";
        return response.WriteAsync(policy.Text);
    }

    private static Task Status(HttpResponse response, int status)
    {
        response.StatusCode = status;
        return Task.CompletedTask;
    }

    private static string Shorten(string? name) => name is null ? "(none)" : name.Length <= 80 ? name : name[..80] + "…";
}
