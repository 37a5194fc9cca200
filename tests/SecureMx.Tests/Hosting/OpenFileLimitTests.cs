using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>The open-file limit against limits.maxConnections and the deliveries: a short one is named at start.</summary>
public sealed class OpenFileLimitTests
{
    [Fact]
    public void TheNeedIsASessionADeliveryEachAndTheReserve()
    {
        Assert.Equal(500UL + 100 + 16 + (ulong)OpenFileLimit.Reserve, OpenFileLimit.Needed(500, 100, 16));
        Assert.Equal((ulong)OpenFileLimit.Reserve, OpenFileLimit.Needed(-1, 0, 0));
    }

    [Fact]
    public void ALimitShortOfTheNeedIsAWarningThatSaysWhatToRaiseOrLower()
    {
        var warning = OpenFileLimit.Shortfall(1024, 5628, 5000);
        Assert.NotNull(warning);
        Assert.Contains("the open-file limit is 1024, below the 5628 that limits.maxConnections 5000", warning, StringComparison.Ordinal);
        Assert.Contains("LimitNOFILE", warning, StringComparison.Ordinal);
        Assert.Null(OpenFileLimit.Shortfall(5628, 5628, 5000));
        Assert.Null(OpenFileLimit.Shortfall(65536, 5628, 5000));
    }

    [Fact]
    public void TheCheckReadsThisProcesssLimitAndWarnsOnlyWhenItIsShort()
    {
        var limit = ulong.Parse(File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], System.Globalization.CultureInfo.InvariantCulture);
        var log = new ListLogger();
        OpenFileLimit.Check(log, 10, 0, 0); // needs 522
        Assert.Equal(limit < 522 ? 1 : 0, log.Lines.Count);
        OpenFileLimit.Check(log, int.MaxValue, 0, 0);
        Assert.Contains(log.Lines, l => l.StartsWith($"Warning: the open-file limit is {limit}, below the ", StringComparison.Ordinal));
    }
}
