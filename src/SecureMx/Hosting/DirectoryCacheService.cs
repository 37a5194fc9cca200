using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Hosting;

/// <summary>
/// Keeps a node's <see cref="DirectoryCache"/> current when several nodes share one PostgreSQL store:
/// the first snapshot at start (before the listeners open); a reload at every change the feed
/// reports (<see cref="IDirectoryChangeFeed"/>, LISTEN/NOTIFY), coalesced by the cache; when the
/// feed's connection drops, reconnection after 1 s, then 2, 4 … up to <see cref="MaxBackoff"/>, and a
/// reload once it listens again (the changes made while it was gone); and a full reload every
/// <see cref="RefreshInterval"/> as the safety net for a notification lost on the way.
/// </summary>
public sealed class DirectoryCacheService(DirectoryCache cache, IDirectoryChangeFeed feed, TimeProvider time, ILogger<DirectoryCacheService> log) : BackgroundService
{
    /// <summary>The full reload that catches whatever the feed missed.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    /// <summary>Loads the first snapshot before the server takes mail; a store that cannot be read yet only logs (lookups query it meanwhile).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        DirectoryGauges.Publish(() => cache.AgeSeconds);
        await cache.ReloadAsync().WaitAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        DirectoryGauges.Publish(null);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ListenAsync(stoppingToken), RefreshAsync(stoppingToken));

    private async Task ListenAsync(CancellationToken ct)
    {
        var backoff = FirstBackoff;
        bool wasLost = false;
        while (!ct.IsCancellationRequested)
        {
            bool listened = false;
            try
            {
                await feed.ListenAsync(() =>
                {
                    listened = true;
                    _ = LoadAfterConnectingAsync(ct);
                    if (wasLost) log.LogInformation("directory change feed listening again; reloading the directory");
                    wasLost = false;
                }, () => _ = cache.ReloadAsync(), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                wasLost = true;
                if (listened) backoff = FirstBackoff; // it worked until now: try again soon
                log.LogWarning("directory change feed {State} ({Error}); the cached directory serves known addresses, unknown ones get 451 4.3.0 until the store answers; reconnecting in {Seconds} s",
                    listened ? "lost" : "could not connect", ex.Message, backoff.TotalSeconds);
            }
            cache.FeedLost();
            try
            {
                await Task.Delay(backoff, time, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    /// <summary>
    /// The reload that follows a (re)connection of the feed, retried every second (up to
    /// <see cref="ConnectRetries"/> times) while it fails: until it succeeds the snapshot's misses are
    /// not trusted, and the next reload would otherwise wait for a change or the periodic refresh.
    /// </summary>
    private async Task LoadAfterConnectingAsync(CancellationToken ct)
    {
        try
        {
            bool loaded = await cache.FeedConnected();
            for (int i = 0; !loaded && i < ConnectRetries; i++)
            {
                await Task.Delay(FirstBackoff, time, ct);
                loaded = await cache.ReloadAsync();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private const int ConnectRetries = 10;

    private async Task RefreshAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(RefreshInterval, time, ct);
                await cache.ReloadAsync();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
