using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Reporting;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx tls-report show DOMAIN [--day YYYY-MM-DD]: the TLS report (RFC 8460 §4.4 JSON) of the
/// sessions to a recipient domain counted on a UTC day (default: today so far), as it would be sent,
/// from the counts every node adds to the store.
/// </summary>
public static class TlsReportShowCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a recipient domain (the policy-domain of the report)" };
        var day = new Option<string?>("--day") { Description = "the UTC day (default: today so far)", HelpName = "YYYY-MM-DD" };
        var show = new Command("show", "print the report JSON of a recipient domain's sessions on a day, as it would be sent") { domain, day, data };
        show.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            Console.WriteLine(Show(dir, p.GetValue(domain)!, p.GetValue(day), DateTimeOffset.UtcNow));
            return 0;
        });
        var cmd = new Command("tls-report", "TLS reports (RFC 8460) of our sessions to recipient domains");
        cmd.Subcommands.Add(show);
        return cmd;
    }

    /// <summary>The report JSON of the instance in <paramref name="dir"/> for <paramref name="domain"/> on <paramref name="day"/> (null: the day of <paramref name="now"/>).</summary>
    internal static string Show(string dir, string domain, string? day, DateTimeOffset now)
    {
        var options = CliOptions.LoadConfig(dir);
        var policyDomain = PolicyDomain(domain);
        var from = Day(day, now);
        var store = CliOptions.OpenStoreForReading(dir);
        using var sessions = new TlsSessionRepository(store, TimeProvider.System, NullLogger.Instance);
        var counts = sessions.Counts(policyDomain, from);
        if (counts.Count == 0) throw new CliException($"no sessions to {policyDomain} counted on {from:yyyy-MM-dd} (UTC)");
        return Encoding.UTF8.GetString(TlsReportSubmitter.From(options).Report(policyDomain, from, counts).ToJson());
    }

    /// <summary>00:00 UTC of <paramref name="text"/> (YYYY-MM-DD), or of today.</summary>
    internal static DateTimeOffset Day(string? text, DateTimeOffset now)
    {
        return CliDay.Parse(text, now);
    }

    /// <summary>The domain as reports name it: A-labels, lower case, no trailing dot (RFC 8460 §4.4).</summary>
    internal static string PolicyDomain(string text)
    {
        var name = text.Trim().TrimEnd('.');
        try
        {
            name = new IdnMapping { UseStd3AsciiRules = true }.GetAscii(name).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            throw new CliException($"'{text}' is not a domain name");
        }
        return name;
    }
}
