using Microsoft.Data.Sqlite;
using SecureMx.Spool;

namespace SecureMx.Cli;

/// <summary>The queue database's size before and after a vacuum.</summary>
public sealed record VacuumResult(long BytesBefore, long BytesAfter, long FreeBytesBefore);

/// <summary>
/// <c>securemx queue vacuum</c>: the queue database keeps the bytes of small messages, and SQLite never
/// gives the pages of delivered ones back to the file system; VACUUM rewrites the file without them.
/// It needs the database to itself (a running server's commits would wait on it, and time out on a big
/// queue: 451 to its clients), so it refuses while <c>securemx serve</c> holds the instance lock, and it
/// needs room for a second copy of the database plus its write-ahead log: it refuses unless there is
/// twice the database's size free. (No <c>PRAGMA incremental_vacuum</c>: the queue is not created with
/// auto_vacuum=INCREMENTAL, and changing that is itself a VACUUM.)
/// </summary>
public static class QueueVacuum
{
    public static VacuumResult Run(string dataDirectory, Func<string, long?>? freeBytes = null)
    {
        var spool = Path.Combine(dataDirectory, "spool");
        var path = Path.Combine(spool, "queue.db");
        if (!File.Exists(path)) throw new CliException($"{path} does not exist: the queue is empty");
        using var instanceLock = ServeLock.TryTake(dataDirectory)
            ?? throw new CliException($"a 'securemx serve' is running on {dataDirectory}: stop it before 'queue vacuum' (it needs the queue database to itself)");
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        c.Open();
        var pageSize = Scalar(c, "PRAGMA page_size");
        var before = Scalar(c, "PRAGMA page_count") * pageSize;
        var free = Scalar(c, "PRAGMA freelist_count") * pageSize;
        var available = (freeBytes ?? CliErrors.FreeBytes)(spool);
        var needed = 2 * (before - free) + 1024 * 1024;
        if (available is { } room && room < needed)
            throw new CliException($"not enough free space to vacuum {path}: it needs about {Mib(needed)} MiB (two copies of the {Mib(before - free)} MiB in use), {Mib(room)} MiB are free");
        Scalar(c, "VACUUM");
        Scalar(c, "PRAGMA wal_checkpoint(TRUNCATE)");
        var after = Scalar(c, "PRAGMA page_count") * pageSize;
        return new VacuumResult(before, after, free);
    }

    private static long Mib(long bytes) => (bytes + 1024 * 1024 - 1) / (1024 * 1024);

    private static long Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }
}
