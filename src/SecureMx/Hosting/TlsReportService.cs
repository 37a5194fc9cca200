using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.Reporting;
using SecureMx.Store;

namespace SecureMx.Hosting;

/// <summary>
/// Sends the daily TLS reports (<see cref="TlsReportSender"/>; <c>tlsReporting.send</c>): a pass every
/// <see cref="Interval"/>, the first at a random minute within the first hour after the start, so
/// that after each UTC day ends its reports go out within the hour, not all at 00:00 (RFC 8460 §4.1:
/// reports are delivered after some delay). Each pass handles the last <see cref="RetryDays"/> days: a
/// report no URI took is tried again every hour for a day or more (§5.5: redelivery for up to 24
/// hours). Several nodes on one store each run it; the claim makes one of them send each report.
/// A domain found without a record is remembered for the day (no lookup each hour).
/// </summary>
public sealed class TlsReportService(TlsReportSender sender, TimeProvider time, ILogger<TlsReportService> log, TimeSpan? firstDelay = null) : BackgroundService
{
    /// <summary>Time between two passes.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>The days each pass handles: yesterday and the day before.</summary>
    public const int RetryDays = 2;

    private readonly Dictionary<DateTimeOffset, HashSet<string>> _notRequested = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = firstDelay ?? TimeSpan.FromSeconds(Random.Shared.Next(60, 3600));
        try
        {
            while (true)
            {
                await Task.Delay(delay, time, stoppingToken);
                delay = Interval;
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    log.LogError(ex, "TLS reports: the pass failed; the next one is in {Interval}", Interval);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: the reports of the last <see cref="RetryDays"/> UTC days not sent yet.</summary>
    public async Task<IReadOnlyList<TlsReportSendResult>> RunOnceAsync(CancellationToken ct)
    {
        var today = UtcDay.Of(time.GetUtcNow());
        foreach (var old in _notRequested.Keys.Where(d => d < today.AddDays(-RetryDays)).ToList()) _notRequested.Remove(old);
        var all = new List<TlsReportSendResult>();
        for (int i = RetryDays; i >= 1; i--)
        {
            var day = today.AddDays(-i);
            if (!_notRequested.TryGetValue(day, out var skip)) _notRequested[day] = skip = new HashSet<string>(StringComparer.Ordinal);
            var results = await sender.SendDayAsync(day, null, ct, skip);
            foreach (var r in results.Where(r => r.Outcome == TlsReportSendOutcome.NotRequested)) skip.Add(r.Domain);
            all.AddRange(results);
        }
        var sent = all.Count(r => r.Outcome == TlsReportSendOutcome.Sent);
        var failed = all.Count(r => r.Outcome == TlsReportSendOutcome.Failed);
        if (sent + failed > 0) log.LogInformation("TLS reports: {Sent} sent, {Failed} to be tried again", sent, failed);
        return all;
    }
}
