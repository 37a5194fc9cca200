using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Hosting;

/// <summary>
/// Starts the metrics listener on listeners.metrics (off by default) before the SMTP listeners (a port
/// that cannot be bound stops the start like theirs), and refreshes what the queue gauges report every
/// <see cref="RefreshEvery"/>: one aggregate query of the queue database and one free-space reading,
/// off the scrape path. A refresh that fails (a busy or missing database) is logged once and keeps the
/// last summary; /health says what is wrong.
/// </summary>
public sealed class MetricsService(string dataDirectory, SecureMxOptions options, MessageSpool spool, IHostApplicationLifetime lifetime,
    TimeProvider time, ILoggerFactory logs, StoreDatabase? store = null) : IHostedService, IAsyncDisposable
{
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(5);

    private readonly ILogger _log = logs.CreateLogger<MetricsService>();
    private readonly CancellationTokenSource _stop = new();
    private WebApplication? _app;
    private MeterProvider? _meters;
    private Task? _refresher;
    private bool _refreshFailing;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.Parse(options.Listeners.Metrics, "listeners.metrics") is not { } ep) return;
        var readiness = new Readiness(dataDirectory, spool,
            started: () => lifetime.ApplicationStarted.IsCancellationRequested,
            stopping: () => lifetime.ApplicationStopping.IsCancellationRequested, time, store);
        Refresh();
        var (app, meters) = MetricsServer.Build(ep, readiness, logs);
        _meters = meters;
        try
        {
            _app = await WebEndpoint.StartAsync(app, "listeners.metrics", ep, cancellationToken);
        }
        catch
        {
            meters.Dispose();
            _meters = null;
            throw;
        }
        _refresher = RefreshLoopAsync(_stop.Token);
        _log.LogInformation("metrics listening on http://{Endpoint}{Metrics} (health: {Health})", ep, MetricsServer.MetricsPath, MetricsServer.HealthPath);
    }

    private async Task RefreshLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(RefreshEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) await Task.Run(Refresh, ct);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>One summary of the queue into <see cref="QueueGauges"/>, and a free-space reading into the spool gauges.</summary>
    internal void Refresh()
    {
        try
        {
            QueueGauges.Publish(Summarize(spool.Queue.PendingSummary(), time.GetUtcNow()));
            if (_refreshFailing) _log.LogInformation("the queue summary for the metrics is current again");
            _refreshFailing = false;
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            if (!_refreshFailing) _log.LogWarning("the queue summary for the metrics cannot be read ({Error}); the queue gauges keep their last values", ex.Message);
            _refreshFailing = true;
        }
        spool.FreeSpace.Publish(); // apart from the summary: an unreadable queue database does not hide it
    }

    /// <summary>The gauges' values from the queue's pending groups: every reason class reported, 0 included.</summary>
    internal static QueueGauges.Snapshot Summarize(IEnumerable<(RecipientState State, string? Reason, long Count, DateTimeOffset OldestReceivedAt)> rows, DateTimeOffset now)
    {
        var deferred = Enum.GetValues<OutcomeReason>().ToDictionary(r => r.Name(), _ => 0L);
        long queued = 0;
        DateTimeOffset? oldest = null;
        foreach (var (state, reason, count, received) in rows)
        {
            if (state == RecipientState.Queued)
            {
                queued += count;
                continue;
            }
            var key = reason ?? "unknown";
            deferred[key] = deferred.GetValueOrDefault(key) + count;
            if (oldest is null || received < oldest) oldest = received;
        }
        var age = oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0;
        return new QueueGauges.Snapshot(queued, deferred, age);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_refresher is not null) await _refresher;
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _app = null;
        _meters?.Dispose();
        _meters = null;
        if (_refresher is not null) QueueGauges.Publish(null);
        _stop.Dispose();
    }
}
