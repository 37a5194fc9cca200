using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// Read-only connections to a SQLite database in WAL mode that also work on a full disk. A read-only
/// connection still needs the database's shared-memory index (<c>-shm</c>, 32 KiB): when the file is
/// there (a running server, or one that was killed) it is used, WAL content included; when it is not
/// (the last connection closed cleanly and removed it), SQLite must create it, which fails on a full
/// disk with "disk I/O error". Then, and only when the write-ahead log holds nothing (no <c>-wal</c>
/// file, or an empty one: every change is in the database file), the database is opened
/// <c>immutable</c>: read from its file alone, without the index — which is exactly its content. A
/// non-empty log without its index cannot be read without room for the index: the error stands.
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
            catch (SqliteException) when (WriteAheadLogIsEmpty())
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
        var immutable = new SqliteConnection(_immutableConnectionString);
        immutable.Open();
        return immutable;
    }

    private static void Probe(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM sqlite_master";
        cmd.ExecuteScalar();
    }

    private bool WriteAheadLogIsEmpty()
    {
        var wal = new FileInfo(path + "-wal");
        return !wal.Exists || wal.Length == 0;
    }

    public void ReleasePooledConnections()
    {
        using var c = new SqliteConnection(_immutableConnectionString);
        SqliteConnection.ClearPool(c);
    }
}
