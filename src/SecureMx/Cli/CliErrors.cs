using System.Data.Common;
using SecureMx.Spool;

namespace SecureMx.Cli;

/// <summary>
/// The one line a failed command prints for an error of the system rather than of the operator: a
/// full disk says so in words (<c>securemx: disk full: …</c>) whichever step met it — a file that
/// could not be written (ENOSPC, EDQUOT), a database that could not grow (SQLITE_FULL), or a
/// database that could not be opened (SQLite's "disk I/O error" when it cannot create its
/// shared-memory file) on a file system without room left.
/// </summary>
public static class CliErrors
{
    private const int SQLITE_IOERR = 10;

    /// <summary>Below this much room, an I/O error of the database is taken for a full disk.</summary>
    internal const long FullBelowBytes = 1024 * 1024;

    /// <summary>
    /// The line for <paramref name="error"/> (without "securemx: "), or null when it is not one of
    /// these (a bug: let it show its stack trace). <paramref name="dataDirectory"/> is the instance's
    /// directory, when the command has one (where the free space is measured).
    /// </summary>
    public static string? Describe(Exception error, string? dataDirectory)
    {
        if (StorageFailure.IsDiskFull(error)) return "disk full: " + error.Message;
        if (error is SecureMx.Store.StoreException store) return store.Message;
        if (error is DbException db)
        {
            if (SecureMx.Store.StoreDatabase.IsUnreachable(db)) return "the store is unreachable: " + db.Message;
            return db is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: SQLITE_IOERR } && FreeBytes(dataDirectory) is < FullBelowBytes and var free
                ? $"disk full: {free / 1024} KiB free on the file system of {dataDirectory} ({db.Message})"
                : "store error: " + db.Message;
        }
        return null;
    }

    /// <summary>The space an unprivileged user may still use on the file system of <paramref name="path"/> (or of its nearest existing parent).</summary>
    internal static long? FreeBytes(string? path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        try
        {
            var dir = Path.GetFullPath(path);
            while (!Directory.Exists(dir)) dir = Path.GetDirectoryName(dir) ?? "/";
            return new DriveInfo(dir).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
