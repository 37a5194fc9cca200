using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Smtp;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>Starts the SMTP listeners named in the configuration and stops them gracefully.</summary>
public sealed class SmtpServerService(SmtpServerContext ctx, ILogger<SmtpServerService> log) : IHostedService
{
    private readonly List<SmtpListener> _listeners = new();

    public IReadOnlyList<SmtpListener> Listeners => _listeners;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = ctx.Options;
        var limiter = new ConnectionLimiter(o.Limits.MaxConnections, o.Limits.MaxConnectionsPerIp);
        var mx = Endpoint.Parse(o.Listeners.Mx, "listeners.mx");
        if (mx is not null)
        {
            var listener = new SmtpListener(ctx, new ListenerSettings("mx", TlsProfile.Parse(o.Tls.MxProfile), RequireTlsBeforeMail: false), mx, limiter);
            listener.Start();
            _listeners.Add(listener);
        }
        foreach (var (name, value) in new[] { ("secureMx", o.Listeners.SecureMx), ("submission", o.Listeners.Submission), ("submissions", o.Listeners.Submissions), ("dashboard", o.Listeners.Dashboard) })
        {
            if (Endpoint.Parse(value, name) is { } ep)
            {
                log.LogInformation("listener {Name} on {Endpoint} is configured but not part of this version; not started", name, ep);
            }
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var grace = TimeSpan.FromSeconds(ctx.Limits.ShutdownGraceSeconds);
        await Task.WhenAll(_listeners.Select(l => l.StopAsync(grace)));
        log.LogInformation("all SMTP listeners stopped");
    }
}
