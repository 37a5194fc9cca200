using System.CommandLine;

namespace SecureMx.Cli;

/// <summary>securemx tls-report …: the TLS reports (RFC 8460) of our sessions to recipient domains — show, send.</summary>
public static class TlsReportCommand
{
    public static Command Create()
    {
        var cmd = TlsReportShowCommand.Create(); // the "tls-report" parent with "show"
        cmd.Subcommands.Add(TlsReportSendCommand.Create());
        return cmd;
    }
}
