using System.CommandLine;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>securemx store: the store's schema (migrate) and moving a single box's store into a shared one.</summary>
public static class StoreMaintenanceCommands
{
    public static Command Create()
    {
        var store = new Command("store", "the store: migrate its schema, copy it into PostgreSQL");
        store.Subcommands.Add(Migrate());
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
}
