using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.MtaSts;

namespace SecureMx.Hosting;

/// <summary>
/// Keeps the cached MTA-STS policies of recipient domains from expiring (RFC 8461 §10.2): every
/// <see cref="Interval"/> a pass of <see cref="MtaStsPolicyCache.RefreshDueAsync"/> fetches again
/// the policies past half their max_age or unchecked for a day, and deletes expired ones. Several
/// nodes on one store each run it; each due policy is claimed by one of them (its checked_at,
/// compare-and-set). A pass that fails is logged and the next one tries again.
/// </summary>
public sealed class MtaStsRefreshService(MtaStsPolicyCache cache, TimeProvider time, ILogger<MtaStsRefreshService> log) : BackgroundService
{
    /// <summary>Time between two passes (a pass over an idle cache is one small query).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Interval, time, stoppingToken);
                try
                {
                    var refreshed = await cache.RefreshDueAsync(stoppingToken);
                    if (refreshed > 0) log.LogDebug("MTA-STS: {Count} cached policy(ies) refreshed", refreshed);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    log.LogError(ex, "MTA-STS refresh pass failed; the next one is in {Interval}", Interval);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
