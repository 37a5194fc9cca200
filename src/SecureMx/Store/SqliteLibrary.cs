using SQLitePCL;

namespace SecureMx.Store;

/// <summary>
/// Process-wide settings of the SQLite library, made once before the first database is opened.
/// </summary>
public static class SqliteLibrary
{
    private static int _configured;

    /// <summary>Whether <see cref="Configure"/> turned the statistics off (false when it came after the library's first use).</summary>
    public static bool MemoryStatisticsOff { get; private set; }

    /// <summary>
    /// Turns off SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS; SQLite's own advice for speed, and what
    /// SQLITE_DEFAULT_MEMSTATUS=0 builds do): with them on, as in the bundled e_sqlite3, every allocation and free
    /// of every connection takes one process-wide mutex, and the queue's writer, its readers and the store's
    /// lookups queued on it (bench/: a quarter of the CPU in futex wake-ups while a backlog was deferred).
    /// SecureMx reads none of the statistics (sqlite3_memory_used, soft heap limit). Returns SQLite's result code:
    /// SQLITE_MISUSE when the library was already in use, which changes nothing but the speed.
    /// </summary>
    public static int Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return raw.SQLITE_OK;
        Batteries_V2.Init();
        int rc = raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0);
        MemoryStatisticsOff = rc == raw.SQLITE_OK;
        return rc;
    }
}
