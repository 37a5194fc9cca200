using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureMx.Dashboard;
using SecureMx.Smtp;

namespace SecureMx.Hosting;

/// <summary>
/// serve's small plain-HTTP applications (the Dovecot policy endpoint, the metrics listener): how they
/// are built and started. A port one cannot bind stops the start like an SMTP listener's.
/// </summary>
internal static class WebEndpoint
{
    /// <summary>
    /// An empty web application on Kestrel alone, HTTP/1.1 on <paramref name="endpoint"/>, logging into serve's
    /// log, no server header, headers within 10 s, bodies up to <paramref name="maxRequestBodySize"/>; serve owns
    /// the signals. <paramref name="maxConnections"/>: null for Kestrel's default (no limit). <paramref name="listen"/>:
    /// more for the endpoint (HTTPS).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(IPEndPoint endpoint, ILoggerFactory logs, long maxRequestBodySize, long? maxConnections = null,
        Action<ListenOptions>? listen = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(logs);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddRouting();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedLifetime>(); // serve owns the signals
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = maxRequestBodySize;
            k.Limits.MaxConcurrentConnections = maxConnections;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Listen(endpoint, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                listen?.Invoke(l);
            });
        });
        return builder;
    }

    public static async Task<WebApplication> StartAsync(WebApplication app, string key, IPEndPoint endpoint, CancellationToken ct)
    {
        try
        {
            await app.StartAsync(ct);
            return app;
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            await app.DisposeAsync();
            throw new ListenerStartException($"{key}: cannot listen on {endpoint}: {ex.Message}");
        }
    }
}
