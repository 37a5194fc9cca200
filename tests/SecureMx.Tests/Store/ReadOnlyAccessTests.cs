using Microsoft.Data.Sqlite;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// When a read-only open fails, the database is read <c>immutable</c> (from its file alone, without
/// locks) only when the failure is SQLite not being able to make its shared-memory index — what a
/// full disk does — and nothing can need that index: no live index (<c>-shm</c> of a running server)
/// and nothing in the write-ahead log. A busy or damaged database, or one a server is using, keeps the
/// error: read without locks, a file the server writes gives stale data or "malformed".
/// (The real full disk: tests/SecureMx.IntegrationTests/Cli/FullDiskCommandTests.cs.)
/// </summary>
public sealed class ReadOnlyAccessTests : IDisposable
{
    private const int Busy = 5, CantOpen = 14, Corrupt = 11, IoErr = 10;
    private const int IoErrShmOpen = IoErr | (18 << 8), IoErrShmSize = IoErr | (19 << 8), ReadOnlyCantInit = 8 | (5 << 8);

    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public ReadOnlyAccessTests()
    {
        _path = _dir.Combine("queue.db");
        File.WriteAllBytes(_path, new byte[8192]);
    }

    public void Dispose() => _dir.Dispose();

    private static SqliteException Error(int extended) => new("error", extended & 0xff, extended);

    [Theory]
    [InlineData(IoErrShmSize)]
    [InlineData(IoErrShmOpen)]
    [InlineData(CantOpen)]
    [InlineData(ReadOnlyCantInit)]
    public void NoRoomForTheIndexOfACleanlyClosedDatabaseReadsItsFile(int code)
    {
        Assert.True(ReadOnlyAccess.MayReadImmutable(Error(code), _path));
        File.WriteAllBytes(_path + "-wal", []);
        File.WriteAllBytes(_path + "-shm", new byte[3]); // what the failed attempt to make the index leaves on a full disk
        Assert.True(ReadOnlyAccess.MayReadImmutable(Error(code), _path));
    }

    [Theory]
    [InlineData(Busy)]
    [InlineData(Busy | (2 << 8))] // SQLITE_BUSY_SNAPSHOT
    [InlineData(Corrupt)]
    [InlineData(IoErr)]
    [InlineData(IoErr | (1 << 8))] // SQLITE_IOERR_READ
    public void AnyOtherErrorStands(int code) => Assert.False(ReadOnlyAccess.MayReadImmutable(Error(code), _path));

    [Fact]
    public void ALiveIndexMeansAServerUsesTheDatabase()
    {
        File.WriteAllBytes(_path + "-wal", []);
        File.WriteAllBytes(_path + "-shm", new byte[32 * 1024]);
        Assert.False(ReadOnlyAccess.MayReadImmutable(Error(IoErrShmSize), _path));
    }

    [Fact]
    public void AWriteAheadLogWithContentNeedsItsIndex()
    {
        File.WriteAllBytes(_path + "-wal", new byte[4096]);
        Assert.False(ReadOnlyAccess.MayReadImmutable(Error(IoErrShmSize), _path));
    }
}
