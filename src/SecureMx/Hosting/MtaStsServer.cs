using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.MtaSts;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// The listener of listeners.mtaSts: HTTPS serving <c>GET /.well-known/mta-sts.txt</c> for
/// <c>mta-sts.DOMAIN</c> of every hosted domain (RFC 8461 §3.3), the policy as <c>text/plain</c>.
/// The certificate is chosen by the name the client sends (SNI) from <see cref="MtaStsCertificateDirectory"/>;
/// a name without one is refused in the handshake. Any other path is 404, as is a Host that is not
/// mta-sts. and a hosted domain; a Host other than the SNI name is 421 (the certificate shown was for
/// another name); other methods 405. No request body is read; the request line and headers are small
/// (8 KiB in all: 431 above), headers must arrive within 10 s, and an idle connection is closed after 10 s.
/// </summary>
public static class MtaStsServer
{
    public const string PolicyPath = "/.well-known/mta-sts.txt";

    /// <summary>Request headers in all, request line included (Kestrel answers 431 or 414 above): a policy fetch needs a few hundred bytes.</summary>
    public const int MaxRequestHeadersBytes = 8 * 1024;

    public static WebApplication Build(IPEndPoint endpoint, MtaStsCertificateDirectory certificates, HostedMtaStsPolicies policies, ILoggerFactory logs)
    {
        var ciphers = TlsProfile.Strict.CipherPolicy();
        var builder = WebEndpoint.CreateBuilder(endpoint, logs, maxRequestBodySize: 0, maxConnections: 512, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
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
        });
        var app = builder.Build();
        app.Run(http => AnswerAsync(http, policies));
        return app;
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
