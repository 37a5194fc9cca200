using SecureMx.Hosting;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>The open-file limit as the SMTP listeners' budget: limits.maxConnections is lowered to the room it leaves.</summary>
public sealed class OpenFileLimitTests
{
    private static readonly OpenFileLimit.Others Typical = new(OpenNow: 240, Deliveries: 116, WebConnections: 576, StoreConnections: 0);

    [Fact]
    public void TheRoomIsTheLimitLessWhatIsOpenTheDeliveriesTheWebListenersTheStoreTheHeadroomAndTheRefusals()
    {
        var others = Typical with { StoreConnections = 56 };
        Assert.Equal(240 + 116 + 576 + 56 + OpenFileLimit.Headroom, others.Total);
        Assert.Equal(65536 - others.Total - ConnectionLimiter.DefaultRefusalAllowance, OpenFileLimit.SessionRoom(65536, others));
        Assert.Equal(500 + ConnectionLimiter.DefaultRefusalAllowance + others.Total, OpenFileLimit.Needed(500, others));
        // The room for exactly the sessions needed is the limit Needed names.
        Assert.Equal(500, OpenFileLimit.SessionRoom((ulong)OpenFileLimit.Needed(500, others), others));
    }

    [Fact]
    public void ALimitWithNoRoomStillServesOneSessionAndAHugeOneDoesNotOverflow()
    {
        Assert.Equal(1, OpenFileLimit.SessionRoom(300, Typical));
        Assert.Equal(1, OpenFileLimit.SessionRoom(0, Typical));
        Assert.Equal(int.MaxValue - (int)Typical.Total - ConnectionLimiter.DefaultRefusalAllowance, OpenFileLimit.SessionRoom(ulong.MaxValue, Typical));
        Assert.Equal(OpenFileLimit.Headroom, new OpenFileLimit.Others(-5, -1, 0, -3).Total);
    }

    [Fact]
    public void TheWarningSaysWhereTheDescriptorsGoWhatIsServedAndWhatToRaiseItTo()
    {
        var room = OpenFileLimit.SessionRoom(4096, Typical);
        var warning = OpenFileLimit.Lowered(4096, room, 5000, Typical);
        Assert.Equal(4096 - 240 - 116 - 576 - OpenFileLimit.Headroom - ConnectionLimiter.DefaultRefusalAllowance, room);
        Assert.StartsWith("the open-file limit is 4096: with 240 descriptors open at start, 116 for deliveries, 576 for the web listeners, 320 in reserve, ", warning, StringComparison.Ordinal);
        Assert.Contains($"it leaves room for {room} SMTP sessions: limits.maxConnections 5000 is lowered to {room} (more get 421 4.7.0)", warning, StringComparison.Ordinal);
        Assert.Contains($"raise LimitNOFILE (systemd) or ulimit -n to {OpenFileLimit.Needed(5000, Typical)}", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("store", warning, StringComparison.Ordinal);
        Assert.Contains(", 56 for the store's pool, ", OpenFileLimit.Lowered(1024, 1, 5000, Typical with { StoreConnections = 56 }), StringComparison.Ordinal);
    }

    [Fact]
    public void ThisProcesssLimitLowersOnlyWhatItCannotHoldAndSaysSo()
    {
        var limit = long.Parse(File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], System.Globalization.CultureInfo.InvariantCulture);
        var log = new ListLogger();
        Assert.Equal(10, OpenFileLimit.MaxConnections(log, 10, 0, 0, 0));
        Assert.Empty(log.Lines);

        var served = OpenFileLimit.MaxConnections(log, int.MaxValue, 0, 0, 0);
        var open = OpenFileLimit.OpenDescriptors();
        Assert.InRange(served, 1, limit - OpenFileLimit.Headroom - ConnectionLimiter.DefaultRefusalAllowance - open + 16);
        Assert.Contains(log.Lines, l => l.StartsWith($"Warning: the open-file limit is {limit}: with ", StringComparison.Ordinal)
            && l.Contains($"limits.maxConnections {int.MaxValue} is lowered to {served} ", StringComparison.Ordinal));
    }

    [Fact]
    public void OpenDescriptorsCountsThisProcesssOwn()
    {
        var before = OpenFileLimit.OpenDescriptors();
        using (File.OpenRead("/proc/self/limits"))
        using (File.OpenRead("/proc/self/status"))
        {
            Assert.InRange(OpenFileLimit.OpenDescriptors(), before + 1, before + 40); // other tests open and close files meanwhile
        }
    }
}
