using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>What a backup holds, written as <c>backup.json</c> at its top.</summary>
public sealed record BackupManifest(int Version, DateTimeOffset CreatedAt, string Hostname, string Machine, int QueuedMessages, int SpoolFiles, int InlineMessages, int LeftQueueDuringBackup);

/// <summary>
/// <c>securemx backup</c>: an online copy of an instance — taken while the server runs. The order makes
/// it consistent: the queue database is copied first (SQLite's online backup API, one read transaction,
/// so a snapshot of one moment), then the spool data file of every message that snapshot names. A file
/// written later belongs to a message the snapshot does not hold; a file the snapshot names that is gone
/// by the time it is copied belonged to a message that left the queue meanwhile (delivered, bounced or
/// deleted: the queue rows go first, then the file), so that message is removed from the copy too.
/// Maildirs are not included: they are plain files, which a file-level backup covers.
/// </summary>
public static class InstanceBackup
{
    public const string ManifestFileName = "backup.json";
    public const int ManifestVersion = 1;

    /// <summary>The directories copied as they are (certificate and key of <c>init</c>, the dashboard's key ring, the DKIM private keys of a single box).</summary>
    internal static readonly string[] CopiedDirectories = ["tls", "dashboard-keys", SecureMx.Dkim.DkimKeyFiles.DirectoryName];

    /// <summary>Single files copied as they are, mode included: the key that decrypts the dashboard's key ring (without it every dashboard login ends).</summary>
    internal static readonly string[] CopiedFiles = [SecureMx.Dashboard.DashboardKeyRingKey.FileName];

    private static string QueuePath(string dir) => Path.Combine(dir, "spool", "queue.db");

    public static async Task<BackupManifest> CreateAsync(string dataDirectory, string target, TimeProvider time, TextWriter warnings)
    {
        if (File.Exists(target) || Directory.Exists(target)) throw new CliException($"{target} already exists: a backup goes to a new path");
        var parent = Path.GetDirectoryName(target) ?? throw new CliException($"{target}: no parent directory");
        if (!Directory.Exists(parent)) throw new CliException($"{parent} does not exist");
        var staging = Path.Combine(parent, "." + Path.GetFileName(target) + ".backup-" + Environment.ProcessId);
        try
        {
            Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.CreateDirectory(Path.Combine(staging, "spool", "data"));

            // 1. The queue: one snapshot, and the messages it names.
            var queueCopy = QueuePath(staging);
            var messages = new List<(string Id, bool Inline)>();
            if (File.Exists(QueuePath(dataDirectory)))
            {
                CopyDatabase(QueuePath(dataDirectory), queueCopy);
                using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = queueCopy, Pooling = false }.ToString());
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = QueueSchema.MessagesWithInlineBytes(c);
                using var r = cmd.ExecuteReader();
                while (r.Read()) messages.Add((r.GetString(0), r.GetBoolean(1)));
            }

            // 2. The spool files of that snapshot; one that vanished meanwhile left the queue after the snapshot.
            var gone = new List<string>();
            int files = 0;
            foreach (var (id, inline) in messages.Where(m => !m.Inline))
            {
                try
                {
                    CopyFile(Path.Combine(dataDirectory, "spool", "data", id), Path.Combine(staging, "spool", "data", id));
                    files++;
                }
                catch (FileNotFoundException)
                {
                    gone.Add(id);
                }
            }
            if (gone.Count > 0)
            {
                using var queue = new QueueDatabase(queueCopy, Path.Combine(staging, "spool", "data"), NullLogger.Instance);
                foreach (var id in gone) await queue.RemoveMessageAsync(id, synced: true);
            }

            // 3. The store, the configuration, the certificate and the dashboard's key ring.
            // A store shared by several nodes (PostgreSQL) is not this node's to copy: pg_dump backs it up.
            if (ConfigLoader.ReadStoreOptions(dataDirectory).IsShared)
                warnings.WriteLine("securemx: warning: the store is the shared PostgreSQL database and is not in this backup: back it up with pg_dump (README, \"Running several nodes\")");
            else
                CopyDatabase(Path.Combine(dataDirectory, StoreDatabase.FileName), Path.Combine(staging, StoreDatabase.FileName));
            CopyFile(Path.Combine(dataDirectory, ConfigLoader.FileName), Path.Combine(staging, ConfigLoader.FileName));
            foreach (var name in CopiedDirectories) CopyDirectory(Path.Combine(dataDirectory, name), Path.Combine(staging, name));
            foreach (var name in CopiedFiles.Where(f => File.Exists(Path.Combine(dataDirectory, f))))
                CopyFile(Path.Combine(dataDirectory, name), Path.Combine(staging, name));
            var hostname = WarnAboutOutsideFiles(dataDirectory, warnings);

            var manifest = new BackupManifest(ManifestVersion, time.GetUtcNow(), hostname, Environment.MachineName,
                messages.Count - gone.Count, files, messages.Count(m => m.Inline), gone.Count);
            DurableFiles.Default.WriteFileAtomic(Path.Combine(staging, ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(manifest, ConfigLoader.Json));
            SqliteConnection.ClearAllPools();
            foreach (var d in new[] { Path.Combine(staging, "spool", "data"), Path.Combine(staging, "spool"), staging }) DurableFiles.Default.SyncDirectory(d);
            Directory.Move(staging, target);
            DurableFiles.Default.SyncDirectory(parent);
            return manifest;
        }
        catch (Exception ex)
        {
            SqliteConnection.ClearAllPools();
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            if (StorageFailure.IsDiskFull(ex)) throw new CliException($"disk full: writing the backup to {target} ({ex.Message}); the partial backup was removed");
            throw;
        }
    }

    /// <summary>The instance's hostname; a certificate or key configured outside the data directory is named, since it is not copied.</summary>
    private static string WarnAboutOutsideFiles(string dataDirectory, TextWriter warnings)
    {
        try
        {
            var options = ConfigLoader.Load(dataDirectory);
            foreach (var file in new[] { options.Tls.Certificate, options.Tls.Key })
            {
                var full = Path.GetFullPath(file, dataDirectory);
                if (!full.StartsWith(dataDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    warnings.WriteLine($"securemx: warning: {full} is outside {dataDirectory} and not in the backup");
            }
            return options.Hostname;
        }
        catch (ConfigException ex)
        {
            warnings.WriteLine($"securemx: warning: {ConfigLoader.FileName} cannot be read ({ex.Message}); copied as it is");
            return "";
        }
    }

    /// <summary>
    /// SQLite's online backup: the source is opened read-only (its write-ahead log included, through the
    /// shared-memory index a running server keeps), copied in one step — one read transaction, so a
    /// consistent snapshot while writers go on — and the copy left without a write-ahead log.
    /// </summary>
    internal static void CopyDatabase(string source, string destination)
    {
        using var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 30 }.ToString());
        using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destination, Pooling = false }.ToString());
        from.Open();
        to.Open();
        from.BackupDatabase(to);
        using var cmd = to.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=DELETE";
        cmd.ExecuteNonQuery();
    }

    /// <summary>A copy that is on the disk when this returns.</summary>
    internal static void CopyFile(string source, string destination, UnixFileMode? mode = null)
    {
        using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0);
        using var to = new FileStream(destination, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 0,
            UnixCreateMode = mode ?? File.GetUnixFileMode(source),
        });
        from.CopyTo(to, 1024 * 1024);
        to.Flush(flushToDisk: true);
    }

    internal static void CopyDirectory(string source, string destination)
    {
        if (!Directory.Exists(source)) return;
        Directory.CreateDirectory(destination, File.GetUnixFileMode(source));
        foreach (var file in Directory.EnumerateFiles(source)) CopyFile(file, Path.Combine(destination, Path.GetFileName(file)));
        foreach (var dir in Directory.EnumerateDirectories(source)) CopyDirectory(dir, Path.Combine(destination, Path.GetFileName(dir)));
        DurableFiles.Default.SyncDirectory(destination);
    }

    /// <summary>Reads the manifest of a backup; anything else is refused.</summary>
    public static BackupManifest ReadManifest(string backup)
    {
        var path = Path.Combine(backup, ManifestFileName);
        if (!File.Exists(path)) throw new CliException($"{backup} is not a SecureMx backup (no {ManifestFileName})");
        var manifest = JsonSerializer.Deserialize<BackupManifest>(File.ReadAllBytes(path), ConfigLoader.Json)
            ?? throw new CliException($"{path} is empty");
        if (manifest.Version != ManifestVersion) throw new CliException($"{path}: backup version {manifest.Version}, this program reads version {ManifestVersion}");
        return manifest;
    }
}
