using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Smtp;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>Starts the SMTP listeners named in the configuration and stops them gracefully.</summary>
public sealed class SmtpServerService(SmtpServerContext ctx, StoreDatabase store, ILogger<SmtpServerService> log) : IHostedService
{
    private readonly List<SmtpListener> _listeners = new();

    public IReadOnlyList<SmtpListener> Listeners => _listeners;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = ctx.Options;
        if (InlineSocketCompletions.Decision is { } completions) log.LogInformation("{Completions}", completions);
        if (ThreadPoolHeadroom.Decision is { } pool) log.LogInformation("{ThreadPool}", pool);
        // Started after the databases and the web listeners, so their descriptors are counted as open now.
        var maxConnections = OpenFileLimit.MaxConnections(log, o.Limits.MaxConnections, o.Delivery.RemoteConcurrency + o.Delivery.LocalConcurrency,
            WebConnections(o), store.ConnectionsAtMost);
        var limiter = new ConnectionLimiter(maxConnections, o.Limits.MaxConnectionsPerIp);
        var listeners = new (string Key, string Value, ListenerSettings Settings)[]
        {
            ("listeners.mx", o.Listeners.Mx, ListenerSettings.Mx(TlsProfile.Parse(o.Tls.MxProfile))),
            ("listeners.secureMx", o.Listeners.SecureMx, ListenerSettings.SecureMx(o.EffectiveSecureMxHostname())),
            ("listeners.submission", o.Listeners.Submission, ListenerSettings.SubmissionStartTls),
            ("listeners.submissions", o.Listeners.Submissions, ListenerSettings.SubmissionImplicitTls),
        };
        try
        {
            foreach (var (key, value, settings) in listeners)
            {
                if (Endpoint.Parse(value, key) is not { } ep) continue;
                if (settings.RequireTls && ctx.Certificate is null) throw new ListenerStartException($"{key}: the {settings.Name} listener needs a TLS certificate (tls.certificate, tls.key)");
                var listener = new SmtpListener(ctx, settings, ep, limiter);
                listener.Start();
                _listeners.Add(listener);
            }
        }
        catch (ListenerStartException)
        {
            // All or nothing: a half-started server would look healthy while missing a port.
            await Task.WhenAll(_listeners.Select(l => l.StopAsync(TimeSpan.Zero)));
            _listeners.Clear();
            throw;
        }
    }

    /// <summary>The connection caps of the web listeners that are on.</summary>
    private static int WebConnections(SecureMxOptions o) =>
        (On(o.Listeners.Dashboard) ? Dashboard.DashboardServer.MaxConnections : 0)
        + (On(o.Listeners.Metrics) ? MetricsServer.MaxConnections : 0)
        + (On(o.Listeners.MtaSts) ? MtaStsServer.MaxConnections : 0)
        + (On(o.Listeners.DovecotPolicy) ? DovecotPolicyServer.MaxConnections : 0);

    private static bool On(string listener) => !string.Equals(listener, Endpoint.Off, StringComparison.OrdinalIgnoreCase);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var grace = TimeSpan.FromSeconds(ctx.Limits.ShutdownGraceSeconds);
        await Task.WhenAll(_listeners.Select(l => l.StopAsync(grace)));
        log.LogInformation("all SMTP listeners stopped");
    }
}
