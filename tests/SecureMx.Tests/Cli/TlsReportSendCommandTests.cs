using SecureMx.Cli;

namespace SecureMx.Tests.Cli;

/// <summary>`securemx tls-report send --day`: yesterday by default, today allowed, a later day or a non-date refused.</summary>
public sealed class TlsReportSendCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public void ShowAndSendAreSubcommandsOfOneTlsReportCommand()
    {
        var cmd = TlsReportCommand.Create();
        Assert.Equal("tls-report", cmd.Name);
        Assert.Equal(["send", "show"], cmd.Subcommands.Select(c => c.Name).Order());
    }

    [Fact]
    public void TheDefaultDayIsYesterdayUtc()
    {
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero), TlsReportSendCommand.ParseDay(null, Now));
    }

    [Fact]
    public void AGivenDayIsItsMidnightUtcAndTodayIsAllowed()
    {
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), TlsReportSendCommand.ParseDay("2026-11-30", Now));
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero), TlsReportSendCommand.ParseDay("2026-12-05", Now));
    }

    [Theory]
    [InlineData("2026-12-06", "has not begun")]
    [InlineData("5.12.2026", "not a day")]
    [InlineData("yesterday", "not a day")]
    public void ALaterDayOrANonDateIsRefused(string text, string why)
    {
        Assert.Contains(why, Assert.Throws<CliException>(() => TlsReportSendCommand.ParseDay(text, Now)).Message);
    }
}
