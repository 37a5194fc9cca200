using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Spool;
using SecureMx.Telemetry;

namespace SecureMx.Tests.Spool;

/// <summary>
/// The free-space floor of the spool's file system (limits.minFreeDiskMb): the floor is the configured
/// size or 5 % of the file system, whichever is smaller; statvfs is asked at most every 2 s; a SIZE=
/// that would take the free space below the floor is refused too; 0 turns it off; a file system that
/// cannot be measured lets mail in; every measurement reaches the metrics.
/// </summary>
public sealed class FreeSpaceGuardTests
{
    private const long MiB = 1024 * 1024;

    private sealed class Disk
    {
        public long Free;
        public long Total = 100_000 * MiB;
        public int Measured;
        public Exception? Error;

        public (long, long) Measure(string _)
        {
            Measured++;
            if (Error is not null) throw Error;
            return (Free, Total);
        }
    }

    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    private static FreeSpaceGuard Guard(Disk disk, long minFreeMb, FakeTimeProvider? time = null) =>
        new("/spool", minFreeMb, time ?? new FakeTimeProvider(Clock.GetUtcNow()), NullLogger.Instance, disk.Measure);

    [Fact]
    public void BelowTheConfiguredFloorNothingIsAdmittedAndAboveItEverything()
    {
        var disk = new Disk { Free = 511 * MiB };
        var time = new FakeTimeProvider(Clock.GetUtcNow());
        var guard = Guard(disk, 512, time);
        Assert.False(guard.Admits());
        Assert.True(guard.Read()!.BelowFloor);
        Assert.Equal(512 * MiB, guard.Read()!.FloorBytes);

        disk.Free = 513 * MiB;
        time.Advance(FreeSpaceGuard.CacheFor);
        Assert.True(guard.Admits());
    }

    [Fact]
    public void OnASmallFileSystemTheFloorIsFivePercentOfIt()
    {
        // 1 GiB: 5 % is 51.2 MiB, well under the configured 512 MiB, which would refuse everything.
        var disk = new Disk { Total = 1024 * MiB, Free = 60 * MiB };
        var guard = Guard(disk, 512);
        Assert.Equal((long)(1024 * MiB * 0.05), guard.Read()!.FloorBytes);
        Assert.True(guard.Admits());

        var nearlyFull = new Disk { Total = 1024 * MiB, Free = 50 * MiB };
        Assert.False(Guard(nearlyFull, 512).Admits());
    }

    [Fact]
    public void ADeclaredSizeThatWouldTakeTheFreeSpaceBelowTheFloorIsRefused()
    {
        var disk = new Disk { Free = 600 * MiB };
        var guard = Guard(disk, 512);
        Assert.True(guard.Admits(80 * MiB));
        Assert.False(guard.Admits(100 * MiB)); // RFC 1870 §6.1: 452 for a size the storage cannot take now
        Assert.True(guard.Admits(null));
    }

    [Fact]
    public void TheFileSystemIsAskedAtMostOncePerCachePeriod()
    {
        var disk = new Disk { Free = 10_000 * MiB };
        var time = new FakeTimeProvider(Clock.GetUtcNow());
        var guard = Guard(disk, 512, time);
        for (int i = 0; i < 100; i++) guard.Admits();
        Assert.Equal(1, disk.Measured);

        disk.Free = 100 * MiB; // filled meanwhile: seen once the cached reading is old
        time.Advance(FreeSpaceGuard.CacheFor - TimeSpan.FromMilliseconds(1));
        Assert.True(guard.Admits());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(guard.Admits());
        Assert.Equal(2, disk.Measured);
    }

    [Fact]
    public void ZeroTurnsTheGuardOffWithoutAskingTheFileSystem()
    {
        var disk = new Disk { Free = 0 };
        var guard = Guard(disk, 0);
        Assert.False(guard.Enabled);
        Assert.True(guard.Admits(long.MaxValue));
        Assert.Null(guard.Read());
        Assert.Equal(0, disk.Measured);
    }

    [Fact]
    public void AFileSystemThatCannotBeMeasuredLetsMailIn()
    {
        var disk = new Disk { Error = new IOException("No such file or directory") };
        Assert.True(Guard(disk, 512).Admits());
    }

    [Fact]
    public void TheRealFileSystemOfATemporaryDirectoryIsMeasured()
    {
        using var dir = new TestSupport.TempDirectory();
        var guard = new FreeSpaceGuard(dir.Path, 1, TimeProvider.System, NullLogger.Instance);
        var reading = guard.Read();
        Assert.NotNull(reading);
        Assert.InRange(reading.FreeBytes, 1, reading.TotalBytes);
    }

    [Fact]
    public void EveryMeasurementReachesTheFreeBytesAndBelowFloorGauges()
    {
        var seen = new List<(string Name, long Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == SecureMxMetrics.MeterName) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => { lock (seen) seen.Add((i.Name, v)); });
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => { lock (seen) seen.Add((i.Name, v)); });
        listener.Start();

        // A free-space figure no other test uses: the gauges are process-wide.
        var disk = new Disk { Free = 123_456_789 };
        Guard(disk, 512).Read();
        lock (seen)
        {
            int at = seen.IndexOf(("securemx.spool.free_bytes", 123_456_789));
            Assert.True(at >= 0, string.Join(", ", seen));
            Assert.Contains(("securemx.spool.below_free_floor", 1L), seen.Skip(at));
        }
    }
}
