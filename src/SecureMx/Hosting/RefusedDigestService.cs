using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.Reporting;
using SecureMx.Store;

namespace SecureMx.Hosting;

/// <summary>
/// Runs the refused-mail digest (<see cref="RefusedMailDigest"/>) for the previous UTC day: at start (a
/// restart catches up), then every hour at <see cref="MinuteOfHour"/> minutes past — the first run after
/// midnight sends the day that ended, the later ones retry what a spool failure released, and a day sent
/// already (by this node or another) is not sent again (the claim).
/// </summary>
public sealed class RefusedDigestService(RefusedMailDigest digest, TimeProvider time, ILogger<RefusedDigestService> log) : BackgroundService
{
    /// <summary>Minutes past the hour of each run: the session log is written behind, the last sessions of the day are in by then.</summary>
    public const int MinuteOfHour = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await RunOnceAsync(stoppingToken);
                await Task.Delay(UntilNextRun(time.GetUtcNow()), time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The digests of yesterday (UTC); a store that cannot be read, or any other failure of a run, is logged and
    /// tried on the next run — never the end of the service (an exception escaping a background service stops the host).
    /// </summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await digest.RunAsync(UtcDay.Of(time.GetUtcNow()).AddDays(-1), cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            log.LogError(ex, "refused-mail digests not sent, the store cannot be read; tried again in an hour");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "refused-mail digests: the run failed; tried again in an hour");
        }
    }

    /// <summary>The time to the next <see cref="MinuteOfHour"/> minutes past a full hour.</summary>
    public static TimeSpan UntilNextRun(DateTimeOffset now)
    {
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddMinutes(MinuteOfHour);
        var next = hour > now ? hour : hour.AddHours(1);
        return next - now;
    }
}
