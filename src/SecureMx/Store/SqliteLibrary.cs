using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace SecureMx.Store;

/// <summary>
/// Process-wide settings of the SQLite library, made once before the first database is opened, and the
/// opening of a connection.
/// </summary>
public static class SqliteLibrary
{
    private static readonly Lazy<int> Result = new(() =>
    {
        Batteries_V2.Init();
        return raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0);
    });

    /// <summary>Whether <see cref="Configure"/> turned the statistics off (false before it, or when it came after the library's first use).</summary>
    public static bool MemoryStatisticsOff => Result.IsValueCreated && Result.Value == raw.SQLITE_OK;

    /// <summary>
    /// Turns off SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS; SQLite's own advice for speed, and what
    /// SQLITE_DEFAULT_MEMSTATUS=0 builds do): with them on, as in the bundled e_sqlite3, every allocation and free
    /// of every connection takes one process-wide mutex, and the queue's writer, its readers and the store's
    /// lookups queued on it (a profile of a backlog being deferred: about a fifth of the CPU in futex wake-ups and waits on it).
    /// SecureMx reads none of the statistics (sqlite3_memory_used, soft heap limit). Returns SQLite's result code:
    /// SQLITE_MISUSE when the library was already in use, which changes nothing but the speed. A second call
    /// changes nothing and returns the first one's result.
    /// </summary>
    public static int Configure() => Result.Value;

    /// <summary>An open connection; one whose open failed is disposed, not left to the finalizer.</summary>
    public static SqliteConnection Open(string connectionString)
    {
        var c = new SqliteConnection(connectionString);
        try
        {
            c.Open();
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }
}
