using Microsoft.Data.Sqlite;

namespace SecureMx.Spool;

/// <summary>Why a message could not be stored: the step that failed, the path it acted on, and the operating system's (or SQLite's) error.</summary>
public sealed record StorageFailure(DurableStep Step, string Path, Exception Error)
{
    // errno values on Linux, which .NET puts into IOException.HResult unchanged.
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;
    private const int SQLITE_FULL = 13;

    /// <summary>The disk (or the user's quota) is full: RFC 3463 §3.4's "mail system full", 452 4.3.1.</summary>
    public bool DiskFull => IsDiskFull(Error);

    /// <summary>From what a step or a commit threw; a failure that is not a <see cref="DurableStepException"/> is attributed to <paramref name="step"/> at <paramref name="path"/>.</summary>
    public static StorageFailure From(Exception error, DurableStep step, string path) => error is DurableStepException d
        ? new StorageFailure(d.Step, d.Path, d.InnerException ?? d)
        : new StorageFailure(step, path, error);

    public static bool IsDiskFull(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is SqliteException { SqliteErrorCode: SQLITE_FULL }) return true;
            if (e is IOException { HResult: ENOSPC or EDQUOT }) return true;
        }
        return false;
    }

    public override string ToString() => $"{Step} of {Path}: {Error.Message}";
}
