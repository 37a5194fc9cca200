using System.CommandLine;

namespace SecureMx.Cli;

/// <summary>securemx tls-report …: the TLS reports (RFC 8460) SecureMx sends to recipient domains.</summary>
public static class TlsReportCommand
{
    public static Command Create()
    {
        var cmd = new Command("tls-report", "TLS reports (RFC 8460) to recipient domains");
        cmd.Subcommands.Add(TlsReportSendCommand.Create());
        return cmd;
    }
}
