using Microsoft.Data.Sqlite;
using SecureMx.Cli;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>The one line a command prints for a failure of the system: a full disk in words, whichever step met it.</summary>
public sealed class CliErrorsTests
{
    [Theory]
    [InlineData(28)]  // ENOSPC
    [InlineData(122)] // EDQUOT
    public void AFileThatCannotBeWrittenForWantOfSpaceIsDiskFull(int errno)
    {
        var error = new IOException("No space left on device : '/srv/mx/tls/.cert.pem.tmp1'", errno);

        Assert.Equal("disk full: No space left on device : '/srv/mx/tls/.cert.pem.tmp1'", CliErrors.Describe(error, null));
        Assert.StartsWith("disk full: ", CliErrors.Describe(new DurableStepException(DurableStep.Flush, "/srv/mx/x", error), null));
    }

    [Fact]
    public void ADatabaseThatCannotGrowIsDiskFull() =>
        Assert.Equal("disk full: SQLite Error 13: 'database or disk is full'.", CliErrors.Describe(new SqliteException("SQLite Error 13: 'database or disk is full'.", 13), null));

    [Fact]
    public void AnIoErrorOfTheDatabaseWithRoomLeftIsAStoreErrorNotDiskFull()
    {
        using var dir = new TempDirectory();
        Assert.True(CliErrors.FreeBytes(dir.Path) >= CliErrors.FullBelowBytes, "the test's temp directory has room");

        Assert.Equal("store error: SQLite Error 10: 'disk I/O error'.", CliErrors.Describe(new SqliteException("SQLite Error 10: 'disk I/O error'.", 10), dir.Path));
        Assert.Equal("store error: SQLite Error 10: 'disk I/O error'.", CliErrors.Describe(new SqliteException("SQLite Error 10: 'disk I/O error'.", 10), null));
    }

    [Fact]
    public void AnotherIoErrorOrABugIsNotDescribed()
    {
        Assert.Null(CliErrors.Describe(new IOException("Input/output error", 5), null));
        Assert.Null(CliErrors.Describe(new InvalidOperationException("a bug"), null));
    }

    [Fact]
    public void TheFreeSpaceOfADirectoryNotMadeYetIsThatOfItsParent()
    {
        using var dir = new TempDirectory();
        Assert.Equal(CliErrors.FreeBytes(dir.Path) is > 0, CliErrors.FreeBytes(dir.Combine("not", "yet")) is > 0);
        Assert.Null(CliErrors.FreeBytes(null));
    }
}
