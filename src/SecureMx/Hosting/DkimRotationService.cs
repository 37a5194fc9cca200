using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Dkim;

namespace SecureMx.Hosting;

/// <summary>
/// Runs the DKIM key rotation (<see cref="DkimRotation"/>) every <see cref="Interval"/>: a pending key whose
/// record has appeared in DNS starts signing and the key it replaces retires; a retiring key retires for
/// good after its period. Each change is one log line. Several nodes on one store each run it; each change
/// is made by one of them (compare-and-set on the key's state). A pass that fails (store or DNS) is logged
/// and the next one tries again; signing goes on with the keys as they are.
/// </summary>
public sealed class DkimRotationService(DkimRotation rotation, TimeProvider time, ILogger<DkimRotationService> log) : BackgroundService
{
    /// <summary>Time between two checks: a published record is in use within minutes, at the cost of a few TXT lookups per pending key.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await PassAsync(stoppingToken);
                await Task.Delay(Interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One check; never throws but for cancellation.</summary>
    public async Task PassAsync(CancellationToken ct)
    {
        try
        {
            foreach (var step in await rotation.AdvanceAsync(ct))
                log.LogWarning("DKIM: key {Selector} ({Algorithm}) of {Domain} is {State} now: {Why}",
                    step.Key.Selector, step.Key.Algorithm.Name(), step.Key.Domain, step.To.Name(), step.Why);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError("DKIM rotation check failed ({Error}); the next one is in {Interval}", ex.Message, Interval);
        }
    }
}
