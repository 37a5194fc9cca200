using Microsoft.Extensions.Time.Testing;
using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>Values kept in memory until their own time: found until then, dropped once there are too many.</summary>
public sealed class ExpiringEntriesTests
{
    private sealed record Entry(string Name, DateTimeOffset Until) : IExpiring;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void AValueIsFoundUntilItsTimeAndNotFromThen()
    {
        var entries = new ExpiringEntries<Entry>(_time, StringComparer.OrdinalIgnoreCase);
        entries.Set("Dest.test", new Entry("a", _time.GetUtcNow().AddSeconds(30)));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("a", entries.Find("dest.TEST")?.Name);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(entries.Find("dest.test"));

        entries.Set("b.test", new Entry("b", _time.GetUtcNow().AddSeconds(30)));
        entries.Remove("b.test");
        Assert.Null(entries.Find("b.test"));
    }

    [Fact]
    public void BeyondTheLimitTheExpiredAreDroppedWhenOneIsSet()
    {
        var entries = new ExpiringEntries<Entry>(_time, StringComparer.Ordinal);
        for (int i = 0; i < ExpiringEntries<Entry>.PruneAbove; i++) entries.Set($"d{i}.test", new Entry("old", _time.GetUtcNow().AddMinutes(1)));
        entries.Set("live.test", new Entry("live", _time.GetUtcNow().AddMinutes(5)));
        Assert.Equal(ExpiringEntries<Entry>.PruneAbove + 1, entries.Count); // none has expired: all stay

        _time.Advance(TimeSpan.FromMinutes(2));
        entries.Set("new.test", new Entry("new", _time.GetUtcNow().AddMinutes(1)));

        Assert.Equal(2, entries.Count);
        Assert.Equal(("live", "new"), (entries.Find("live.test")?.Name, entries.Find("new.test")?.Name));
    }
}
