using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx tls-report send [--day YYYY-MM-DD] [--domain D]: sends now what the daily run sends after
/// the day ends (<see cref="TlsReportSender"/>): the day's TLS reports (default: yesterday, UTC) to the
/// domains that ask for them, under the same claim, so a report already sent (by this command or by
/// any node's daily run) is not sent again. Prints one line per domain; exit 1 when a report could not
/// be sent. Report mail is queued here; a running server delivers it within seconds.
/// </summary>
public static class TlsReportSendCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var day = new Option<string?>("--day") { Description = "the UTC day reported on (default: yesterday)", HelpName = "YYYY-MM-DD" };
        var domain = new Option<string?>("--domain") { Description = "only this recipient domain", HelpName = "DOMAIN" };
        var cmd = new Command("send", "send the TLS reports (RFC 8460) of a day now, to the domains that ask for them") { day, domain, data };
        cmd.SetAction(async (p, ct) =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            if (!options.TlsReporting.Send) throw new CliException("tlsReporting.send is false: this instance sends no TLS reports");
            var reported = ParseDay(p.GetValue(day), DateTimeOffset.UtcNow);
            var store = CliOptions.OpenStore(dir);
            CliNodeNumber.Use(store, options);
            var time = TimeProvider.System;
            var dns = new MailDnsResolver(options.Dns);
            using var sessions = new TlsSessionRepository(store, time, NullLogger.Instance);
            using var spool = new MessageSpool(Path.Combine(dir, "spool"), time, NullLogger.Instance);
            var sender = new TlsReportSender(dns, sessions, new ReportSendRepository(store),
                new TlsReportPoster(dns, InstanceTrust.Load(dir, options), options, time),
                new MessageAcceptor(spool, arrivals: null, time, NullLogger.Instance),
                RecipientRouter.For(new MailboxRepository(store, time), options), options, options.Node.EffectiveName(), time, NullLogger.Instance)
            {
                // RFC 8460 §5.3: report mail is DKIM-signed by its From: domain, as the server's own reports are.
                Sign = new SecureMx.Dkim.SubmissionSigner(new SecureMx.Dkim.DkimKeyRepository(store, time),
                    SecureMx.Dkim.DkimPrivateKeyStore.For(store, SecureMx.Dashboard.DashboardKeyRingKey.Reader(store.DataDirectory)), time)
                    .SignOrReport("a TLS report", why => Console.Error.WriteLine("securemx: warning: " + why)),
            };
            if (reported == UtcDay.Of(DateTimeOffset.UtcNow))
                Console.WriteLine($"{reported.UtcDateTime:yyyy-MM-dd} is not over: a report sent now covers the sessions so far and is the day's only one");
            // The domain as the counts name it: A-labels, lower case (an IDN given in U-labels too).
            var only = p.GetValue(domain) is { } d ? TlsReportShowCommand.PolicyDomain(d) : null;
            var results = await sender.SendDayAsync(reported, only, ct);
            if (results.Count == 0) Console.WriteLine($"no sessions counted on {reported.UtcDateTime:yyyy-MM-dd}{(only is null ? "" : " to " + only)}: no reports");
            foreach (var r in results) Console.WriteLine(r);
            return results.Any(r => r.Outcome == TlsReportSendOutcome.Failed) ? 1 : 0;
        });
        return cmd;
    }

    /// <summary>
    /// 00:00 UTC of --day, or of yesterday. Today is allowed (a test, a first look): its report covers the
    /// sessions so far, and being sent it is the day's only one. A later day is refused.
    /// </summary>
    internal static DateTimeOffset ParseDay(string? text, DateTimeOffset now)
    {
        var day = CliDay.Parse(text, now.AddDays(-1));
        if (day > UtcDay.Of(now)) throw new CliException($"--day: {text} has not begun yet (UTC)");
        return day;
    }
}
