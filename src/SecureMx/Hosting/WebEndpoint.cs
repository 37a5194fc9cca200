using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using SecureMx.Smtp;

namespace SecureMx.Hosting;

/// <summary>Starting one of serve's web applications: a port it cannot bind stops the start like an SMTP listener's.</summary>
internal static class WebEndpoint
{
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
