using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using SecureMx.Dovecot;

namespace SecureMx.Hosting;

/// <summary>
/// The HTTP endpoint Dovecot's auth process posts its policy requests to (listeners.dovecotPolicy):
/// plain HTTP on a loopback address only (the configuration refuses any other), and only with the
/// key from <see cref="DovecotPolicyKey"/>. One route; anything else is 404, a wrong key 401, a
/// request that is not Dovecot's 400. Bodies are small JSON objects: more than 8 KiB is refused.
/// </summary>
public static class DovecotPolicyServer
{
    public const string Route = "/dovecot/auth-policy";

    /// <summary>Connections at once: Dovecot's authentication processes, on loopback.</summary>
    public const int MaxConnections = 64;

    public static WebApplication Build(IPEndPoint endpoint, string key, DovecotAuthPolicy policy, ILoggerFactory logs)
    {
        var app = WebEndpoint.CreateBuilder(endpoint, logs, maxRequestBodySize: 8 * 1024, maxConnections: MaxConnections).Build();
        var keyBytes = Encoding.ASCII.GetBytes(key);
        var log = logs.CreateLogger("SecureMx.Dovecot.Policy");
        app.UseRouting();
        app.MapPost(Route, async (HttpContext http) =>
        {
            var given = Encoding.ASCII.GetBytes(http.Request.Headers["X-API-Key"].ToString().Trim());
            if (!CryptographicOperations.FixedTimeEquals(given, keyBytes))
            {
                log.LogWarning("Dovecot policy request from {Ip} with a wrong key refused", http.Connection.RemoteIpAddress);
                return Results.Unauthorized();
            }
            JsonDocument body;
            try
            {
                body = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            }
            catch (Exception ex) when (ex is JsonException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                return Results.BadRequest();
            }
            using (body)
            {
                var answer = policy.Answer(http.Request.Query["command"].ToString(), body.RootElement);
                return answer is null ? Results.BadRequest() : Results.Text(answer, "application/json");
            }
        });
        return app;
    }
}
