using Microsoft.Data.Sqlite;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>The one place of durable file operations: its steps, its failures, and the fault seam's fidelity.</summary>
public sealed class DurableFilesTests
{
    private static readonly byte[] Old = "old content\n"u8.ToArray();
    private static readonly byte[] New = "new content, longer than the old one\n"u8.ToArray();

    [Fact]
    public void TheInjectedNoSpaceErrorHasTheShapeOfARealOne()
    {
        // /dev/full answers every write with ENOSPC: the real thing, without filling a disk.
        var real = Assert.ThrowsAny<IOException>(() =>
        {
            using var full = new FileStream("/dev/full", new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Write, BufferSize = 0 });
            full.Write(new byte[16]);
        });
        var injected = StorageFaultPlan.ErrorFor(DurableStep.Write, Errno.ENOSPC, "/dev/full");
        Assert.Equal(real.GetType(), injected.GetType());
        Assert.Equal(real.HResult, injected.HResult);
        Assert.Equal(real.Message, injected.Message);
        Assert.True(StorageFailure.IsDiskFull(real));
    }

    [Fact]
    public void ARealNoSpaceErrorComesOutOfAStepWithItsStepPathAndErrno()
    {
        var files = new DurableFiles();
        using var full = files.Create("/dev/full", new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Write, BufferSize = 0 });
        var failed = Assert.Throws<DurableStepException>(() => full.Write(new byte[16]));
        Assert.Equal(DurableStep.Write, failed.Step);
        Assert.Equal("/dev/full", failed.Path);
        Assert.Equal(28, failed.HResult);
        Assert.True(StorageFailure.IsDiskFull(failed));
    }

    [Fact]
    public void ClosingAFileNeverThrowsEvenWhenItsBufferCannotBeWritten()
    {
        var full = new DurableFiles().Create("/dev/full", new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Write, BufferSize = 4096 });
        full.Write(new byte[16]); // buffered: the kernel has not seen it yet
        full.Dispose();
    }

    [Theory]
    [InlineData(Errno.ENOSPC, true)]
    [InlineData(Errno.EIO, false)]
    public void DiskFullIsNoSpaceForFilesAndSqliteFullForTheDatabase(Errno errno, bool diskFull)
    {
        Assert.Equal(diskFull, StorageFailure.IsDiskFull(StorageFaultPlan.ErrorFor(DurableStep.Write, errno, "/x")));
        Assert.Equal(diskFull, StorageFailure.IsDiskFull(StorageFaultPlan.ErrorFor(DurableStep.Commit, errno, "/x")));
        Assert.True(StorageFailure.IsDiskFull(new IOException("Disk quota exceeded", 122)));
        Assert.False(StorageFailure.IsDiskFull(new SqliteException("constraint failed", 19)));
    }

    [Theory]
    [InlineData(DurableStep.Create, Errno.ENOSPC)]
    [InlineData(DurableStep.Write, Errno.ENOSPC)]
    [InlineData(DurableStep.Flush, Errno.ENOSPC)]
    [InlineData(DurableStep.SyncFile, Errno.EIO)]
    [InlineData(DurableStep.Rename, Errno.EIO)]
    public void AnAtomicWriteThatFailsBeforeItsRenameKeepsTheOldFileAndNoTemporaryFile(DurableStep step, Errno errno)
    {
        using var dir = new TempDirectory();
        var target = dir.Combine("securemx.json");
        File.WriteAllBytes(target, Old);
        var faults = new StorageFaultPlan();
        faults.Fail(step, errno);
        var failed = Assert.Throws<DurableStepException>(() => new DurableFiles(faults).WriteFileAtomic(target, New));
        Assert.Equal(step, failed.Step);
        Assert.Equal((int)errno, failed.HResult);
        Assert.Equal(Old, File.ReadAllBytes(target));
        Assert.Equal([target], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void AnAtomicWriteWhoseDirectoryFsyncFailsReportsItAlthoughTheNewContentIsInPlace()
    {
        using var dir = new TempDirectory();
        var target = dir.Combine("securemx.json");
        File.WriteAllBytes(target, Old);
        var faults = new StorageFaultPlan();
        faults.Fail(DurableStep.SyncDirectory, Errno.EIO);
        var failed = Assert.Throws<DurableStepException>(() => new DurableFiles(faults).WriteFileAtomic(target, New));
        Assert.Equal(DurableStep.SyncDirectory, failed.Step);
        Assert.Equal(dir.Path, failed.Path);
        Assert.Equal(New, File.ReadAllBytes(target)); // in place, but not known durable: the caller must not say "done"
        Assert.Equal([target], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void AnAtomicWriteGoesThroughItsStepsInOrder()
    {
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        new DurableFiles(faults).WriteFileAtomic(dir.Combine("key.pem"), New, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal([DurableStep.Create, DurableStep.Write, DurableStep.Flush, DurableStep.SyncFile, DurableStep.Rename, DurableStep.SyncDirectory],
            faults.Steps.Select(s => s.Step));
        Assert.Equal(New, File.ReadAllBytes(dir.Combine("key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.Combine("key.pem")));
    }

    [Fact]
    public void TheFaultsOfOneInstanceNeverReachAnother()
    {
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        faults.FailAlways(DurableStep.Create, Errno.ENOSPC);
        Assert.Throws<DurableStepException>(() => new DurableFiles(faults).WriteFileAtomic(dir.Combine("a"), New));
        new DurableFiles().WriteFileAtomic(dir.Combine("b"), New);
        DurableFiles.Default.WriteFileAtomic(dir.Combine("c"), New);
        Assert.Equal([dir.Combine("b"), dir.Combine("c")], Directory.GetFiles(dir.Path).Order());
    }

    [Fact]
    public void ADeleteOnAnErrorPathReportsInsteadOfThrowing()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("leftover");
        File.WriteAllBytes(path, Old);
        var faults = new StorageFaultPlan();
        faults.Fail(DurableStep.Delete, Errno.EIO);
        var files = new DurableFiles(faults);
        Assert.False(files.TryDelete(path));
        Assert.True(File.Exists(path));
        Assert.True(files.TryDelete(path));
        Assert.False(File.Exists(path));
        Assert.True(files.TryDelete(path)); // nothing there: nothing to do
    }
}
