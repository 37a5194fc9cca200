using Microsoft.Extensions.Time.Testing;
using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

/// <summary>The arithmetic of a transfer's deadline: a total limit, and a minimum average rate after the first minute.</summary>
public sealed class TransferDeadlineTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(180);

    [Fact]
    public void DuringTheFirstMinuteNoRateIsRequired()
    {
        var clock = new FakeTimeProvider();
        var t = new TransferDeadline(clock, maxSeconds: 600, minBytesPerSecond: 1000);
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(t.Exceeded());
        // Not a byte yet: the wait ends with the first minute, not with the stall timeout.
        Assert.InRange(t.NextWait(Stall), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.01));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("too slow: 0 octets in 60 s", t.Exceeded(), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, t.NextWait(Stall));
    }

    [Fact]
    public void EveryOctetMovesTheDeadlineOnByOneOverTheRate()
    {
        var clock = new FakeTimeProvider();
        var t = new TransferDeadline(clock, maxSeconds: 600, minBytesPerSecond: 1000);
        t.Count(90_000); // 90 s worth at 1000 octets/s
        clock.Advance(TimeSpan.FromSeconds(89));
        Assert.Null(t.Exceeded());
        Assert.InRange(t.NextWait(Stall), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.01));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(t.Exceeded());
        t.Count(1_000);
        Assert.Null(t.Exceeded());
    }

    [Fact]
    public void TheStallTimeoutStillBoundsEachWait()
    {
        var clock = new FakeTimeProvider();
        var t = new TransferDeadline(clock, maxSeconds: 600, minBytesPerSecond: 1000);
        t.Count(1_000_000);
        Assert.Equal(Stall, t.NextWait(Stall));
    }

    [Fact]
    public void TheTotalLimitHoldsWhateverTheRate()
    {
        var clock = new FakeTimeProvider();
        var t = new TransferDeadline(clock, maxSeconds: 600, minBytesPerSecond: 1000);
        t.Count(1_000_000_000);
        clock.Advance(TimeSpan.FromSeconds(599));
        Assert.Null(t.Exceeded());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("message transfer took longer than 600 s", t.Exceeded());
    }

    [Fact]
    public void ZeroSwitchesEachLimitOff()
    {
        var clock = new FakeTimeProvider();
        var t = new TransferDeadline(clock, maxSeconds: 0, minBytesPerSecond: 0);
        clock.Advance(TimeSpan.FromDays(3));
        Assert.Null(t.Exceeded());
        Assert.Equal(Stall, t.NextWait(Stall));
        var rateOnly = new TransferDeadline(clock, maxSeconds: 0, minBytesPerSecond: 1000);
        rateOnly.Count(long.MaxValue / 2); // no overflow, however many octets
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Null(rateOnly.Exceeded());
    }
}
