using SecureMx.Config;
using SecureMx.Queue;

namespace SecureMx.Tests.Queue;

public sealed class RetryScheduleTests
{
    [Fact]
    public void DefaultScheduleIs5_10_20_40MinutesThenHourly()
    {
        var s = new RetrySchedule(new QueueOptions());
        Assert.Equal(
            [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(40), TimeSpan.FromHours(1), TimeSpan.FromHours(1)],
            Enumerable.Range(1, 6).Select(s.BaseInterval).ToArray());
    }

    [Fact]
    public void JitterStaysWithinTheConfiguredFractionAndVaries()
    {
        var s = new RetrySchedule(new QueueOptions { RetryJitter = 0.2 });
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var random = new Random(7);
        var delays = Enumerable.Range(0, 1000).Select(_ => s.NextAttempt(1, now, random) - now).ToList();
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(6)));
        Assert.True(delays.Distinct().Count() > 900);
    }

    [Fact]
    public void SecondsScaleScheduleWorksForEndToEndTests()
    {
        var s = new RetrySchedule(new QueueOptions { RetrySchedule = "1s, 2s", MaxRetryInterval = "3s", RetryJitter = 0 });
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)], new[] { 1, 2, 3 }.Select(s.BaseInterval).ToArray());
    }

    [Fact]
    public void StepsLongerThanTheMaximumAreCapped()
    {
        var s = new RetrySchedule(new QueueOptions { RetrySchedule = "2h", MaxRetryInterval = "1h" });
        Assert.Equal(TimeSpan.FromHours(1), s.BaseInterval(1));
    }
}
