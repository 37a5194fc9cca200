using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// Whether an SQLite database file can be written now: opened afresh (no pooled connection, which
/// would still reach a file that was deleted or replaced), without creating it, and a write lock taken
/// and given back (<c>BEGIN IMMEDIATE; ROLLBACK</c>: nothing is written). For /health: answers a
/// short reason instead of throwing.
/// </summary>
public static class SqliteWriteProbe
{
    /// <summary>Null when writable; else why not ("missing", "busy", the error).</summary>
    /// <param name="busyTimeoutSeconds">How long to wait for a writer that holds the lock.</param>
    public static string? Check(string path, int busyTimeoutSeconds = 2)
    {
        if (!File.Exists(path)) return $"{Path.GetFileName(path)} is missing";
        var cs = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            Mode = SqliteOpenMode.ReadWrite,
            DefaultTimeout = busyTimeoutSeconds,
        }.ToString();
        try
        {
            using var c = new SqliteConnection(cs);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "BEGIN IMMEDIATE; SELECT count(*) FROM sqlite_master; ROLLBACK;";
            cmd.ExecuteScalar();
            return null;
        }
        catch (SqliteException ex)
        {
            return $"{Path.GetFileName(path)}: {(ex.SqliteErrorCode is 5 or 6 ? "busy" : ex.Message)}";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return $"{Path.GetFileName(path)}: {ex.Message}";
        }
    }
}
