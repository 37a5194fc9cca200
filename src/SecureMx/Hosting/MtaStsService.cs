using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.MtaSts;
using SecureMx.Reporting;
using SecureMx.Store;

namespace SecureMx.Hosting;

/// <summary>
/// Starts the MTA-STS listener on listeners.mtaSts (off by default) before the SMTP listeners, so
/// that a port that cannot be bound stops the start like theirs (<see cref="MtaStsServer"/>).
/// </summary>
public sealed class MtaStsService(string dataDirectory, SecureMxOptions options, TlsPolicyRepository policies, TimeProvider time, ILoggerFactory logs,
    TlsReportIntake? reports = null)
    : IHostedService, IAsyncDisposable
{
    private readonly ILogger _log = logs.CreateLogger("SecureMx.MtaSts");
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.Parse(options.Listeners.MtaSts, "listeners.mtaSts") is not { } ep) return;
        var directory = ConfigLoader.ResolvePath(dataDirectory, options.MtaSts.CertificateDirectory);
        if (!Directory.Exists(directory))
            _log.LogWarning("MTA-STS: the certificate directory {Directory} does not exist; every handshake is refused until it holds mta-sts.DOMAIN.pem and .key", directory);
        var app = MtaStsServer.Build(ep, new MtaStsCertificateDirectory(directory, time, _log), new HostedMtaStsPolicies(policies, options, _log), logs,
            reports, options.TlsReporting.MaxReportBytes);
        _app = await WebEndpoint.StartAsync(app, "listeners.mtaSts", ep, cancellationToken);
        _log.LogInformation("MTA-STS policies listening on https://{Endpoint}{Path} (certificates: {Directory})", ep, MtaStsServer.PolicyPath, directory);
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
