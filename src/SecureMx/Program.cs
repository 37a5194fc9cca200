using System.CommandLine;
using SecureMx.Cli;

// Linux only: fsync of directories, Unix file modes, OpenSSL cipher-suite policies.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SecureMx;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Store.SqliteLibrary.Configure(); // before any database is opened
        var root = new RootCommand("SecureMx: a mail transfer agent whose transport security can be switched from best effort to guaranteed")
        {
            InitCommand.Create(),
            ServeCommand.Create(),
            StoreCommands.Domain(),
            StoreCommands.Mailbox(),
            StoreCommands.Alias(),
            QueueCommands.Create(),
            BackupCommands.Backup(),
            BackupCommands.Restore(),
            SendmailCommand.Create(),
            LogCommand.Create(),
            PolicyCommands.Create(),
            ProbeCommand.Create(),
            DnsRecordsCommand.Create(),
            DkimCommands.Create(),
            TlsCommands.Create(),
            TlsReportCommand.Create(),
            DovecotConfigCommand.Create(),
            RoleCommands.SystemAdmin(),
            StoreMaintenanceCommands.Create(),
        };
        var parse = root.Parse(args);
        try
        {
            // The host handles SIGTERM/SIGINT itself (graceful shutdown): no termination timeout here.
            return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync("securemx: " + ex.Message);
            return 1;
        }
        catch (Exception ex) when (CliErrors.Describe(ex, DataDirectory(parse)) is { } line)
        {
            // A full disk, a store error: one line, exit code 1 (init or dovecot-config on a full disk included).
            await Console.Error.WriteLineAsync("securemx: " + line);
            return 1;
        }
    }

    /// <summary>The command's --data (or $SECUREMX_DATA), where a full disk is measured; null when it has none.</summary>
    private static string? DataDirectory(ParseResult parse)
    {
        try
        {
            return parse.GetValue<string>("--data");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            return Environment.GetEnvironmentVariable("SECUREMX_DATA");
        }
    }
}
