using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>When the digest service runs: 5 minutes past every hour (the first after midnight sends the day that ended).</summary>
public sealed class RefusedDigestServiceTests
{
    [Theory]
    [InlineData("2026-06-01T23:59:00Z", "2026-06-02T00:05:00Z")]
    [InlineData("2026-06-02T00:04:59Z", "2026-06-02T00:05:00Z")]
    [InlineData("2026-06-02T00:05:00Z", "2026-06-02T01:05:00Z")]
    [InlineData("2026-06-02T10:30:00Z", "2026-06-02T11:05:00Z")]
    public void TheNextRunIsFiveMinutesPastTheNextHour(string now, string next)
    {
        var t = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.Parse(next, System.Globalization.CultureInfo.InvariantCulture), t + RefusedDigestService.UntilNextRun(t));
    }
}
