using SecureMx.Config;

namespace SecureMx.Tests.Config;

public sealed class DurationTests
{
    [Theory]
    [InlineData("30", 30)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("1.5h", 5400)]
    [InlineData("5d", 432000)]
    [InlineData("1w", 604800)]
    [InlineData(" 24H ", 86400)]
    public void ParsesAdministratorDurations(string text, int seconds)
    {
        Assert.True(Duration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("5x")]
    [InlineData("-5m")]
    [InlineData("five minutes")]
    public void RejectsWhatIsNotADuration(string text) => Assert.False(Duration.TryParse(text, out _));

    [Theory]
    [InlineData(45, "45s")]
    [InlineData(300, "5m")]
    [InlineData(5400, "1h30m")]
    [InlineData(7200, "2h")]
    [InlineData(432000, "5d")]
    public void FormatsCompactly(int seconds, string expected) => Assert.Equal(expected, Duration.Format(TimeSpan.FromSeconds(seconds)));
}
