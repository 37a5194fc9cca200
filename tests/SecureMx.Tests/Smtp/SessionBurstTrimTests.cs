using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

public sealed class SessionBurstTrimTests
{
    [Fact]
    public void IsDueOnceWhenABurstHasFallenToAnEighthOfItsPeak()
    {
        var trim = new SessionBurstTrim(() => { });
        for (int open = 1; open <= 2000; open++) trim.Opened(open);
        Assert.False(trim.Closed(1999));
        Assert.False(trim.Closed(251));
        Assert.True(trim.Closed(250));
        // The peak is now what is left: the sessions closing after that trigger nothing more.
        for (int open = 249; open >= 0; open--) Assert.False(trim.Closed(open));
    }

    [Fact]
    public void IsNeverDueBelowTheMinimumPeak()
    {
        var trim = new SessionBurstTrim(() => { });
        for (int open = 1; open < SessionBurstTrim.MinimumPeak; open++) trim.Opened(open);
        for (int open = SessionBurstTrim.MinimumPeak - 2; open >= 0; open--) Assert.False(trim.Closed(open));
    }

    [Fact]
    public void IsDueWhenTheLastSessionEndsAfterManySessionsSinceTheLastTrim()
    {
        var trim = new SessionBurstTrim(() => { });
        // One session at a time (a small peak): never a burst, but after IdleAfterSessions of them the idle moment trims, once.
        for (int i = 1; i < SessionBurstTrim.IdleAfterSessions; i++)
        {
            trim.Opened(1);
            Assert.False(trim.Closed(0));
        }
        trim.Opened(1);
        trim.Opened(2);
        Assert.False(trim.Closed(1)); // not idle yet
        Assert.True(trim.Closed(0));
        trim.Opened(1);
        Assert.False(trim.Closed(0)); // counted afresh from the trim
    }

    [Fact]
    public async Task TheLimiterRunsTheTrimWhenItsSessionsOfABurstHaveEnded()
    {
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var limiter = new ConnectionLimiter(5000, 5000, new SessionBurstTrim(() => ran.TrySetResult()));
        var ip = System.Net.IPAddress.Parse("192.0.2.1");
        for (int i = 0; i < SessionBurstTrim.MinimumPeak; i++) Assert.Null(limiter.TryAcquire(ip));
        for (int i = 0; i < SessionBurstTrim.MinimumPeak; i++) limiter.Release(ip);
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}
