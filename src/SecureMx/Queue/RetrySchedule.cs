using SecureMx.Config;

namespace SecureMx.Queue;

/// <summary>
/// When to try a deferred recipient again: the configured steps (default 5, 10, 20, 40 minutes),
/// then every <c>maxRetryInterval</c> (1 hour), each with random jitter so that a burst of
/// deferrals does not come back as a burst (docs/ARCHITECTURE.md, "Queue state and time rules").
/// </summary>
public sealed class RetrySchedule
{
    private readonly TimeSpan[] _steps;
    private readonly TimeSpan _max;
    private readonly double _jitter;

    public RetrySchedule(QueueOptions options)
    {
        _steps = options.RetrySchedule.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => Duration.Parse(s, "queue.retrySchedule")).ToArray();
        _max = Duration.Parse(options.MaxRetryInterval, "queue.maxRetryInterval");
        _jitter = options.RetryJitter;
    }

    /// <summary>The interval before attempt number <paramref name="attemptsSoFar"/> + 1, without jitter.</summary>
    public TimeSpan BaseInterval(int attemptsSoFar)
    {
        if (attemptsSoFar < 1) attemptsSoFar = 1;
        var step = attemptsSoFar - 1 < _steps.Length ? _steps[attemptsSoFar - 1] : _max;
        return step > _max ? _max : step;
    }

    /// <summary>The next attempt after <paramref name="attemptsSoFar"/> failed attempts, jittered by ± retryJitter.</summary>
    public DateTimeOffset NextAttempt(int attemptsSoFar, DateTimeOffset now, Random random)
    {
        var interval = BaseInterval(attemptsSoFar);
        var factor = 1 + _jitter * (2 * random.NextDouble() - 1);
        return now + TimeSpan.FromTicks((long)(interval.Ticks * factor));
    }
}
