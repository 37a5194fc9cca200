namespace SecureMx.Spool;

/// <summary>
/// The fault-injection seam of <see cref="DurableFiles"/>: told about every step before it runs, with
/// the path it acts on, and may throw to fail it — with the exception the operating system would
/// raise (an <see cref="IOException"/> whose HResult is the errno, e.g. 28 for ENOSPC and 5 for EIO;
/// a <c>SqliteException</c> for a commit or a queue read). The step then has not happened, and the caller goes down
/// the same path as for a real failure. Tests give one to <see cref="DurableFiles"/>; production has none.
/// </summary>
public interface IStorageFaultInjector
{
    void BeforeStep(DurableStep step, string path);
}
