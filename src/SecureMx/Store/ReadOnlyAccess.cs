using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// Read-only connections to a SQLite database in WAL mode that also work on a full disk. A read-only
/// connection still needs the database's shared-memory index (<c>-shm</c>, 32 KiB): when the file is
/// there (a running server, or one that was killed) it is used, WAL content included; when it is not
/// (the last connection closed cleanly and removed it), SQLite must create it, which fails on a full
/// disk with "disk I/O error". Then, and only when the write-ahead log holds nothing (no <c>-wal</c>
/// file, or an empty one: every change is in the database file) and no index is in use, the database
/// is opened <c>immutable</c>: read from its file alone, without the index — which is exactly its
/// content (<see cref="MayReadImmutable"/>). A non-empty log without its index cannot be read without
/// room for the index, and any other error (busy, damaged) is not this case: the error stands.
/// Both databases read this way: the store, and the queue (<c>Spool/QueueDatabase.OpenForReading</c>).
/// </summary>
internal sealed class ReadOnlyAccess(string path, string readOnlyConnectionString)
{
    private readonly string _immutableConnectionString = new SqliteConnectionStringBuilder(readOnlyConnectionString)
    {
        // A URI filename (Microsoft.Data.Sqlite opens with SQLITE_OPEN_URI): the path escaped as a file: URI.
        DataSource = new Uri(path).AbsoluteUri + "?immutable=1",
    }.ToString();

    private volatile bool _immutable;

    public SqliteConnection Open()
    {
        if (!_immutable)
        {
            var c = new SqliteConnection(readOnlyConnectionString);
            try
            {
                c.Open();
                Probe(c); // SQLite opens lazily: the -shm file is needed (and made) at the first read
                return c;
            }
            catch (SqliteException ex) when (MayReadImmutable(ex, path))
            {
                c.Dispose();
                _immutable = true;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }
        return SqliteLibrary.Open(_immutableConnectionString);
    }

    private static void Probe(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM sqlite_master";
        cmd.ExecuteScalar();
    }

    /// <summary>
    /// Whether, after <paramref name="error"/> opening <paramref name="path"/> read-only, the database
    /// may be read from its file alone: only when SQLite could not make its shared-memory index (what a
    /// full disk does: SQLITE_IOERR_SHMSIZE; or it could not open or initialise it), when there is no
    /// live index (a server's is at least one 32 KiB region; a failed attempt leaves a few bytes) and
    /// when the write-ahead log holds nothing. Anything else — busy during a server's recovery or
    /// checkpoint, a damaged file — stands: read without locks, a file that a server is about to
    /// write gives stale data or "malformed".
    /// </summary>
    internal static bool MayReadImmutable(SqliteException error, string path)
    {
        bool indexCouldNotBeMade = error.SqliteErrorCode == SQLITE_CANTOPEN
            || error.SqliteExtendedErrorCode is SQLITE_IOERR_SHMOPEN or SQLITE_IOERR_SHMSIZE or SQLITE_IOERR_SHMMAP or SQLITE_READONLY_CANTINIT;
        if (!indexCouldNotBeMade) return false;
        var shm = new FileInfo(path + "-shm");
        if (shm.Exists && shm.Length >= ShmRegionSize) return false;
        var wal = new FileInfo(path + "-wal");
        return !wal.Exists || wal.Length == 0;
    }

    // SQLite's result codes (sqlite3.h): primary, and extended as primary | (n << 8).
    private const int SQLITE_CANTOPEN = 14;
    private const int SQLITE_IOERR_SHMOPEN = 10 | (18 << 8);
    private const int SQLITE_IOERR_SHMSIZE = 10 | (19 << 8);
    private const int SQLITE_IOERR_SHMMAP = 10 | (21 << 8);
    private const int SQLITE_READONLY_CANTINIT = 8 | (5 << 8);

    /// <summary>The size of one region of the index; a -shm file in use is at least this long.</summary>
    private const long ShmRegionSize = 32 * 1024;

    public void ReleasePooledConnections()
    {
        using var c = new SqliteConnection(_immutableConnectionString);
        SqliteConnection.ClearPool(c);
    }
}
