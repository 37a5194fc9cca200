using Microsoft.Extensions.Time.Testing;
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
        var limiter = new ConnectionLimiter(5000, 5000, new SessionBurstTrim(() => ran.TrySetResult(), allocatedBytes: () => 0));
        var ip = System.Net.IPAddress.Parse("192.0.2.1");
        for (int i = 0; i < SessionBurstTrim.MinimumPeak; i++) Assert.Null(limiter.TryAcquire(ip));
        for (int i = 0; i < SessionBurstTrim.MinimumPeak; i++) limiter.Release(ip);
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task WaitsUntilTheProcessIsQuietBeforeItTrims()
    {
        var process = new QuietProcess();
        var run = process.Trim.Run();
        // The queue still delivering what the sessions brought: 2 MiB a second, three seconds long.
        for (int i = 0; i < 3; i++) await process.SecondPassesAsync(2 << 20);
        Assert.Equal(0, process.Trims);
        await process.SecondPassesAsync(100_000);
        await run.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(1, process.Trims);
    }

    [Fact]
    public async Task GivesUpWhenTheLoadGoesOnAndWaitsAfreshWhenDueAgain()
    {
        var process = new QuietProcess();
        var run = process.Trim.Run();
        for (int i = 0; i < SessionBurstTrim.QuietChecks; i++) await process.SecondPassesAsync(SessionBurstTrim.QuietAllocation);
        await run.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(0, process.Trims);
        var again = process.Trim.Run();
        Assert.False(again.IsCompleted);
        await process.SecondPassesAsync(0);
        await again.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(1, process.Trims);
    }

    [Fact]
    public async Task ATrimDueWhileOneWaitsIsTheSameTrim()
    {
        var process = new QuietProcess();
        var first = process.Trim.Run();
        Assert.True(process.Trim.Run().IsCompleted);
        await process.SecondPassesAsync(0);
        await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(1, process.Trims);
    }

    /// <summary>A trim on a fake clock and allocation counter, counting the trims it ran.</summary>
    private sealed class QuietProcess
    {
        private readonly FakeTimeProvider _time = new();
        private long _allocated;

        public QuietProcess() => Trim = new SessionBurstTrim(() => Trims++, _time, () => _allocated);

        public SessionBurstTrim Trim { get; }

        public int Trims { get; private set; }

        /// <summary>One quiet check's interval, with <paramref name="bytes"/> allocated in it.</summary>
        public async Task SecondPassesAsync(long bytes)
        {
            _allocated += bytes;
            _time.Advance(SessionBurstTrim.QuietCheck);
            await Task.Yield(); // the wait's next check is set before the next second passes
        }
    }
}
