namespace SecureMx.Spool;

/// <summary>
/// The named steps of durable storage, as <see cref="DurableFiles"/> performs them and an
/// <see cref="IStorageFaultInjector"/> sees them. The path a step reports is the name it acts on:
/// the file (create, write, flush, fsync, delete), the new name (rename), the directory (directory
/// fsync) or the database file (commit, queue read).
/// </summary>
public enum DurableStep
{
    /// <summary>open(2) with O_CREAT: a new file.</summary>
    Create,
    /// <summary>Bytes into the file (into its buffer, or through it to the kernel).</summary>
    Write,
    /// <summary>write(2) of what the buffer holds: the kernel has every byte.</summary>
    Flush,
    /// <summary>fsync(2) of a file: its data is on the disk.</summary>
    SyncFile,
    /// <summary>rename(2): the file under its final name.</summary>
    Rename,
    /// <summary>fsync(2) of a directory: entries created, renamed or removed in it are on the disk.</summary>
    SyncDirectory,
    /// <summary>unlink(2).</summary>
    Delete,
    /// <summary>The commit of a queue database transaction (SQLite's own writes and its WAL fsync).</summary>
    Commit,
    /// <summary>
    /// A read of the queue database (a delivery's message, the scheduler's due messages): SQLite reads
    /// the file and its WAL, and an I/O error or a lock held past the busy timeout fails the read. Not a
    /// step of durable storage, but the other side of it: a full disk does not fail it, a bad one does.
    /// </summary>
    QueueRead,
}
