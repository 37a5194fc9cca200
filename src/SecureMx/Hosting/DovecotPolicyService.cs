using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Smtp;

namespace SecureMx.Hosting;

/// <summary>
/// Starts the endpoint Dovecot's authentication policy requests go to, on listeners.dovecotPolicy
/// (off unless `securemx dovecot-config` set it), before the SMTP listeners (all or nothing).
/// </summary>
public sealed class DovecotPolicyService(string dataDirectory, SecureMxOptions options, AccountAuthenticator authenticator, ILoggerFactory logs) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;
    private readonly ILogger _log = logs.CreateLogger<DovecotPolicyService>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.Parse(options.Listeners.DovecotPolicy, "listeners.dovecotPolicy") is not { } ep) return;
        string key;
        try
        {
            key = DovecotPolicyKey.LoadOrCreate(dataDirectory);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // A start-up error the operator reads (the message names the file), not a crash of serve.
            throw new ListenerStartException($"listeners.dovecotPolicy: {ex.Message}");
        }
        var app = DovecotPolicyServer.Build(ep, key, new DovecotAuthPolicy(authenticator), logs);
        _app = await WebEndpoint.StartAsync(app, "listeners.dovecotPolicy", ep, cancellationToken);
        _log.LogInformation("Dovecot authentication policy endpoint listening on http://{Endpoint}{Route}", ep, DovecotPolicyServer.Route);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _app = null;
    }
}
