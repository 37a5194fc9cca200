using System.CommandLine;
using SecureMx.Cli;

// Linux only: fsync of directories, Unix file modes, OpenSSL cipher-suite policies.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SecureMx;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("SecureMx: a mail transfer agent whose transport security can be switched from best effort to guaranteed")
        {
            InitCommand.Create(),
            ServeCommand.Create(),
            StoreCommands.Domain(),
            StoreCommands.Mailbox(),
            StoreCommands.Alias(),
            QueueCommands.Create(),
            SendmailCommand.Create(),
            LogCommand.Create(),
            PolicyCommands.Create(),
            ProbeCommand.Create(),
            DnsRecordsCommand.Create(),
            DovecotConfigCommand.Create(),
            RoleCommands.SystemAdmin(),
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
        catch (System.Data.Common.DbException ex)
        {
            await Console.Error.WriteLineAsync("securemx: store error: " + ex.Message);
            return 1;
        }
    }
}
