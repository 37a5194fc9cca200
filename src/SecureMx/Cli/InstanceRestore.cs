using Microsoft.Data.Sqlite;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>What a restore put back, and the queued messages it found without their data.</summary>
public sealed record RestoreResult(BackupManifest Manifest, int QueuedMessages, IReadOnlyList<string> MissingData);

/// <summary>
/// <c>securemx restore</c>: puts a backup of <see cref="InstanceBackup"/> back into a data directory,
/// with the server stopped. A running server is recognised by the lock it holds on
/// <c>spool/serve.lock</c>; restore holds that lock itself while it works, so that no server starts
/// on a half-restored instance. A directory that holds anything is only overwritten with
/// <c>--force</c>: then the databases (their write-ahead logs included), the spool, the configuration,
/// the certificate and the key ring are replaced; the Maildirs under <c>mail/</c> are left alone.
/// </summary>
public static class InstanceRestore
{
    public static RestoreResult Run(string backup, string dataDirectory, bool force)
    {
        var manifest = InstanceBackup.ReadManifest(backup);
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var spool = Path.Combine(dataDirectory, "spool");
        var hadSpool = Directory.Exists(spool);
        if (!hadSpool && Directory.EnumerateFileSystemEntries(dataDirectory).Any() && !force)
            throw new CliException($"{dataDirectory} is not empty (add --force to replace its instance; its Maildirs are kept)");
        Directory.CreateDirectory(spool);
        using var instanceLock = ServeLock.TryTake(dataDirectory)
            ?? throw new CliException($"a 'securemx serve' is running on {dataDirectory}: stop it before restoring");
        if (hadSpool && !force)
            throw new CliException($"{dataDirectory} already holds an instance (add --force to replace it; its Maildirs are kept)");

        SqliteConnection.ClearAllPools();
        // A write-ahead log left next to a replaced database would be applied to it: both go.
        foreach (var db in new[] { Path.Combine(dataDirectory, StoreDatabase.FileName), Path.Combine(spool, "queue.db") })
            foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" }) File.Delete(db + suffix);
        foreach (var dir in InstanceBackup.CopiedDirectories.Select(d => Path.Combine(dataDirectory, d)).Append(Path.Combine(spool, "data")).Append(Path.Combine(spool, "incoming")))
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        File.Delete(Path.Combine(dataDirectory, ConfigLoader.FileName));
        foreach (var name in InstanceBackup.CopiedFiles) File.Delete(Path.Combine(dataDirectory, name));

        InstanceBackup.CopyDirectory(Path.Combine(backup, "spool", "data"), Path.Combine(spool, "data"));
        Directory.CreateDirectory(Path.Combine(spool, "data"));
        foreach (var name in InstanceBackup.CopiedDirectories) InstanceBackup.CopyDirectory(Path.Combine(backup, name), Path.Combine(dataDirectory, name));
        foreach (var name in InstanceBackup.CopiedFiles.Where(f => File.Exists(Path.Combine(backup, f))))
            InstanceBackup.CopyFile(Path.Combine(backup, name), Path.Combine(dataDirectory, name));
        var queueCopy = Path.Combine(backup, "spool", "queue.db");
        if (File.Exists(queueCopy)) InstanceBackup.CopyFile(queueCopy, Path.Combine(spool, "queue.db"));
        // A backup of a node on a shared PostgreSQL store has no store file (pg_dump has the store).
        if (File.Exists(Path.Combine(backup, StoreDatabase.FileName)))
            InstanceBackup.CopyFile(Path.Combine(backup, StoreDatabase.FileName), Path.Combine(dataDirectory, StoreDatabase.FileName));
        // The configuration last: until it is there, the directory is not an instance a command would use.
        InstanceBackup.CopyFile(Path.Combine(backup, ConfigLoader.FileName), Path.Combine(dataDirectory, ConfigLoader.FileName));
        Directory.CreateDirectory(Path.Combine(dataDirectory, "mail"));
        DurableFiles.Default.SyncDirectory(spool);
        DurableFiles.Default.SyncDirectory(dataDirectory);

        var (queued, missing) = File.Exists(queueCopy) ? CheckQueue(spool) : (0, []);
        return new RestoreResult(manifest, queued, missing);
    }

    /// <summary>Every queued message must have its bytes: in the queue database, or as a file in spool/data.</summary>
    private static (int Queued, List<string> Missing) CheckQueue(string spool)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(spool, "queue.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = QueueSchema.MessagesWithInlineBytes(c) + " ORDER BY m.id";
        using var r = cmd.ExecuteReader();
        int queued = 0;
        var missing = new List<string>();
        while (r.Read())
        {
            queued++;
            if (!r.GetBoolean(1) && !File.Exists(Path.Combine(spool, "data", r.GetString(0)))) missing.Add(r.GetString(0));
        }
        return (queued, missing);
    }
}
