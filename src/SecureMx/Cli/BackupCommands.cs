using System.CommandLine;

namespace SecureMx.Cli;

/// <summary>securemx backup and securemx restore (<see cref="InstanceBackup"/>, <see cref="InstanceRestore"/>).</summary>
public static class BackupCommands
{
    public static Command Backup()
    {
        var data = CliOptions.Data();
        var to = new Option<string>("--to") { Description = "where the backup goes (a new directory)", HelpName = "PATH", Required = true };
        var cmd = new Command("backup", "copy the store, the queue and its spool files, the configuration, the certificate and the dashboard keys, while the server runs (not the Maildirs)") { data, to };
        cmd.SetAction(async p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var target = Path.GetFullPath(p.GetValue(to)!);
            var m = await InstanceBackup.CreateAsync(dir, target, TimeProvider.System, Console.Error);
            Console.WriteLine($"backup of {dir} in {target}: {m.QueuedMessages} queued message(s) ({m.SpoolFiles} spool file(s)), {(File.Exists(Path.Combine(target, SecureMx.Store.StoreDatabase.FileName)) ? "store, " : "")}configuration, certificate, dashboard keys");
            if (m.LeftQueueDuringBackup > 0) Console.WriteLine($"  {m.LeftQueueDuringBackup} message(s) left the queue while the backup ran: not in it");
            Console.WriteLine($"  not included: the Maildirs under {Path.Combine(dir, "mail")} (back them up as files)");
            return 0;
        });
        return cmd;
    }

    public static Command Restore()
    {
        var data = CliOptions.Data();
        var from = new Option<string>("--from") { Description = "a directory written by 'securemx backup'", HelpName = "PATH", Required = true };
        var force = new Option<bool>("--force") { Description = "replace the instance in a directory that is not empty (its Maildirs are kept)" };
        var cmd = new Command("restore", "put a backup back into a data directory (the server must be stopped)") { data, from, force };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireData(p.GetValue(data)!);
            var source = Path.GetFullPath(p.GetValue(from)!);
            InstanceOwner.DropTo(dir); // what it writes belongs to the instance's user
            var result = InstanceRestore.Run(source, dir, p.GetValue(force));
            Console.WriteLine($"restored {dir} from the backup of {result.Manifest.CreatedAt:yyyy-MM-ddTHH:mm:ssZ} ({result.Manifest.Hostname}): {result.QueuedMessages} queued message(s)");
            foreach (var id in result.MissingData)
                Console.Error.WriteLine($"securemx: warning: queued message {id} has no data in the backup; remove it with 'securemx queue delete {id} --data {dir}'");
            Console.WriteLine($"next: restore the Maildirs under {Path.Combine(dir, "mail")} from your file backup; securemx serve --data {dir}");
            return result.MissingData.Count == 0 ? 0 : 2;
        });
        return cmd;
    }
}
