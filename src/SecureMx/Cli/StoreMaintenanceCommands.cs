using System.CommandLine;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>securemx store: the store's schema (migrate) and moving a single box's store into a shared one.</summary>
public static class StoreMaintenanceCommands
{
    public static Command Create()
    {
        var store = new Command("store", "the store: migrate its schema, copy it into PostgreSQL");
        store.Subcommands.Add(Migrate());
        store.Subcommands.Add(Copy());
        return store;
    }

    /// <summary>
    /// securemx store migrate: applies the schema steps the store has not seen (serve does the same at
    /// start; a PostgreSQL store takes an advisory lock, so nodes never race). A store newer than this
    /// program is refused, not touched.
    /// </summary>
    private static Command Migrate()
    {
        var data = CliOptions.Data();
        var cmd = new Command("migrate", "bring the store's schema up to date (serve does it at start too)") { data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.StoreOptions(dir);
            try
            {
                var db = StoreDatabase.OpenUnmigrated(dir, options, "securemx store migrate");
                var (from, to) = db.Migrate();
                db.ReleasePooledConnections();
                Console.WriteLine(from == to
                    ? $"store {db.Location}: schema version {to}, up to date"
                    : $"store {db.Location}: schema version {from} -> {to}");
            }
            catch (StoreException ex)
            {
                throw new CliException(ex.Message);
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// securemx store copy --to postgresql://USER@HOST:PORT/DB: the instance's embedded SQLite store into an
    /// empty PostgreSQL database (migrated first), with the serve lock held so that nothing is logged meanwhile
    /// (<see cref="StoreCopy"/>; README, "Running several nodes"). The password as for the store:
    /// --password-file, else PGPASSWORD, else .pgpass; never on the command line.
    /// </summary>
    private static Command Copy()
    {
        var data = CliOptions.Data();
        var to = new Option<string>("--to") { Description = "the empty PostgreSQL database to copy into (no password in it)", HelpName = "postgresql://USER@HOST:PORT/DB", Required = true };
        var passwordFile = new Option<string?>("--password-file") { Description = "a file whose first line is the PostgreSQL password (else PGPASSWORD, else .pgpass)", HelpName = "FILE" };
        var cmd = new Command("copy", "copy this instance's SQLite store (domains, mailboxes, aliases, policies, roles, audit, logs) into an empty PostgreSQL database; the server must be stopped") { to, passwordFile, data };
        cmd.SetAction(p =>
        {
            var url = p.GetValue(to)!;
            if (!url.StartsWith("postgresql://", StringComparison.Ordinal) && !url.StartsWith("postgres://", StringComparison.Ordinal))
                throw new CliException($"--to takes postgresql://USER@HOST:PORT/DB, not '{url}': store copy copies the embedded SQLite store into PostgreSQL");
            // A path on the command line is the caller's, not the data directory's.
            var file = p.GetValue(passwordFile) is { Length: > 0 } f ? Path.GetFullPath(f) : "";
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            if (CliOptions.StoreOptions(dir) is { IsShared: true } current)
                throw new CliException($"{dir} already uses the shared store {current.ConnectionString} (store.connectionString): there is no SQLite store of its own to copy");
            using var instanceLock = ServeLock.TryTake(dir)
                ?? throw new CliException($"a 'securemx serve' is running on {dir}: stop it before copying its store (what it writes meanwhile would be missing from the copy)");
            try
            {
                var target = StoreDatabase.Open(dir, new StoreOptions { ConnectionString = url, PasswordFile = file });
                var source = StoreDatabase.OpenForReading(dir);
                Console.WriteLine($"copying the store of {dir} into {target.Location}");
                using (var from = source.Connect())
                using (var into = target.Connect())
                    StoreCopy.Run(from, into, (table, rows) => Console.WriteLine($"  {table}: {rows} row(s)"));
                source.ReleasePooledConnections();
                target.ReleasePooledConnections();
            }
            catch (Exception ex) when (ex is StoreException or StoreCopyIncompleteException)
            {
                throw new CliException(ex.Message);
            }
            foreach (var (table, why) in StoreCopy.NotCopied) Console.WriteLine($"  not copied: {table} ({why})");
            Console.WriteLine($"next: set store.connectionString to {url} (and store.passwordFile) in {Path.Combine(dir, ConfigLoader.FileName)}, then start serve; other nodes: securemx init --store {url}");
            return 0;
        });
        return cmd;
    }
}
