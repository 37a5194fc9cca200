using Microsoft.Data.Sqlite;

namespace SecureMx.Spool;

/// <summary>
/// Every file-system step on the durability path, in one place (the idea of chasquid's safeio): the
/// spool's incoming and data files, the queue database's directory fsync and commit, Maildir tmp/ and
/// new/, and the atomic writes of configuration and certificates. Each step has a name
/// (<see cref="DurableStep"/>) and either succeeds or throws <see cref="DurableStepException"/> (an
/// <see cref="IOException"/> with the step, the path and the operating system's error). The composite
/// operations here remove what they created before they throw: a temporary file never outlives a failure.
/// <para>
/// The seam: the <see cref="IStorageFaultInjector"/> given to the constructor sees every step before it
/// runs and may fail it as the kernel would (ENOSPC, EIO) without touching the disk. For the caller a
/// failed step means what the real failure means: the step did not happen, what it was to make durable
/// is not durable, and the caller must answer "not stored" (4xx) or defer. Production uses
/// <see cref="Default"/>, for which the seam costs one null check per step.
/// </para>
/// </summary>
public sealed class DurableFiles(IStorageFaultInjector? faults = null)
{
    public static DurableFiles Default { get; } = new();

    /// <summary>Creates a file for writing with <paramref name="options"/> (their mode says whether it may exist).</summary>
    public DurableFile Create(string path, FileStreamOptions options) =>
        Step(faults, DurableStep.Create, path, () => new DurableFile(faults, path, new FileStream(path, options)));

    /// <summary>
    /// A file opened by <paramref name="open"/> (for what must be created under a directory descriptor,
    /// not by path: openat(2)), as the step <see cref="DurableStep.Create"/> on <paramref name="path"/>.
    /// </summary>
    public DurableFile Create(string path, Func<FileStream> open) =>
        Step(faults, DurableStep.Create, path, () => new DurableFile(faults, path, open()));

    /// <summary>
    /// A step done by descriptor (renameat(2), fsync(2) of an open directory) that the seam sees as
    /// <paramref name="step"/> on <paramref name="path"/>; <paramref name="act"/> throws an <see cref="IOException"/> on failure.
    /// </summary>
    public void Run(DurableStep step, string path, Action act) => Step(faults, step, path, act);

    /// <summary>rename(2); durable only once the destination's directory is fsync'd.</summary>
    public void Rename(string source, string destination, bool overwrite = false) =>
        Step(faults, DurableStep.Rename, destination, () => File.Move(source, destination, overwrite));

    /// <summary>fsync(2) of a directory, so that entries created, renamed or removed in it are durable.</summary>
    public void SyncDirectory(string path) => Step(faults, DurableStep.SyncDirectory, path, () => SafeIo.FsyncDirectory(path));

    /// <summary>unlink(2); a file that is not there is not an error.</summary>
    public void Delete(string path) => Step(faults, DurableStep.Delete, path, () => File.Delete(path));

    /// <summary>Removal on an error path: a failure here cannot be helped, and what stays is garbage that start-up recovery removes.</summary>
    public bool TryDelete(string path)
    {
        try
        {
            Delete(path);
            return true;
        }
        catch (DurableStepException)
        {
            return false;
        }
    }

    /// <summary>Commits a queue database transaction (SQLite makes it durable: WAL, synchronous=FULL).</summary>
    public void Commit(SqliteTransaction transaction, string database) => Step(faults, DurableStep.Commit, database, transaction.Commit);

    /// <summary>
    /// Before a read of the queue database: the seam may fail it as SQLite would (SQLITE_IOERR, SQLITE_BUSY),
    /// with the <c>SqliteException</c> the caller would see from the read itself.
    /// </summary>
    public void BeforeQueueRead(string database) => faults?.BeforeStep(DurableStep.QueueRead, database);

    /// <summary>
    /// Writes a whole file durably: a temporary name, fsync, rename over <paramref name="path"/>, fsync
    /// of the directory. Until the rename the old file (if any) is untouched and a failure removes the
    /// temporary file; a failure of the final directory fsync leaves the new content in place but not
    /// known durable, and is reported like any other.
    /// </summary>
    public void WriteFileAtomic(string path, ReadOnlySpan<byte> content, UnixFileMode? mode = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full)!;
        var tmp = System.IO.Path.Combine(dir, "." + System.IO.Path.GetFileName(full) + ".tmp" + Environment.ProcessId);
        try
        {
            using (var file = Create(tmp, new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None,
                UnixCreateMode = mode ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
            }))
            {
                file.Write(content);
                file.Flush();
                file.Sync();
            }
            Rename(tmp, full, overwrite: true);
        }
        catch (DurableStepException)
        {
            TryDelete(tmp);
            throw;
        }
        SyncDirectory(dir);
    }

    /// <summary>
    /// One step: the fault seam sees it first, then <paramref name="act"/> runs; what the kernel refuses
    /// comes out as <see cref="DurableStepException"/> naming the step and the path.
    /// </summary>
    internal static T Step<T>(IStorageFaultInjector? faults, DurableStep step, string path, Func<T> act)
    {
        try
        {
            faults?.BeforeStep(step, path);
            return act();
        }
        catch (Exception ex) when (IsFileSystemError(ex))
        {
            throw new DurableStepException(step, path, ex);
        }
    }

    internal static void Step(IStorageFaultInjector? faults, DurableStep step, string path, Action act) =>
        Step(faults, step, path, () => { act(); return true; });

    internal static async ValueTask StepAsync(IStorageFaultInjector? faults, DurableStep step, string path, Func<ValueTask> act)
    {
        try
        {
            faults?.BeforeStep(step, path);
            await act().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFileSystemError(ex))
        {
            throw new DurableStepException(step, path, ex);
        }
    }

    /// <summary>What a file-system call throws when the kernel says no (errno: ENOSPC, EIO, EACCES …); not a step that already failed.</summary>
    internal static bool IsFileSystemError(Exception ex) =>
        ex is (IOException and not DurableStepException) or UnauthorizedAccessException;
}
