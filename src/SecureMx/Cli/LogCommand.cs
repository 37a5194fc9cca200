using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>securemx log: the delivery log, one line per attempt and recipient, with the TLS it got.</summary>
public static class LogCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var recipient = new Option<string?>("--recipient") { Description = "only this recipient address", HelpName = "ADDRESS" };
        var sender = new Option<string?>("--sender") { Description = "only this envelope sender", HelpName = "ADDRESS" };
        var account = new Option<string?>("--account") { Description = "only mail submitted by this logged-in account", HelpName = "ADDRESS" };
        var since = new Option<string?>("--since") { Description = "only attempts since a time (2026-11-28T10:00Z) or a duration ago (1h, 2d)", HelpName = "T" };
        var limit = new Option<int>("--limit") { Description = "at most this many rows, the newest (default 1000)", DefaultValueFactory = _ => 1000 };
        var refused = new Option<bool>("--refused") { Description = "instead: inbound attempts refused under mandatory TLS (default --since 30d), then the count per sending host" };
        var domain = new Option<string?>("--domain") { Description = "with --refused: only this recipient domain", HelpName = "DOMAIN" };
        var sendDigest = new Option<bool>("--send-digest") { Description = "with --refused: send the daily digest of refused mail now (domains with the digest on; once per domain and day)" };
        var day = new Option<string?>("--day") { Description = "with --send-digest: the UTC day (default yesterday)", HelpName = "YYYY-MM-DD" };
        var cmd = new Command("log", "delivery attempts: time, queue id, sender, recipient, server, result, TLS") { data, recipient, sender, account, since, limit, refused, domain, sendDigest, day };
        cmd.SetAction(async p =>
        {
            if (!p.GetValue(refused) && (p.GetValue(domain) is not null || p.GetValue(sendDigest) || p.GetValue(day) is not null))
                throw new CliException("--domain, --send-digest and --day go with --refused");
            if (p.GetValue(sendDigest)) return await SendDigestAsync(CliOptions.RequireData(p.GetValue(data)!), p.GetValue(domain), p.GetValue(day));
            if (p.GetValue(day) is not null) throw new CliException("--day goes with --send-digest");
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            DateTimeOffset? from = null;
            if (p.GetValue(since) is { } s)
            {
                if (Duration.TryParse(s, out var ago)) from = DateTimeOffset.UtcNow - ago;
                else if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) from = t;
                else throw new CliException($"--since: '{s}' is neither a time (2026-11-28T10:00Z) nor a duration (1h)");
            }
            var store = CliOptions.OpenStoreForReading(dir);
            if (p.GetValue(refused))
            {
                var report = new RefusedAttemptRepository(store);
                var d = p.GetValue(domain) is { } named ? EnvelopeAddress.NormalizeDomain(named.Trim().TrimEnd('.')) ?? throw new CliException($"--domain: '{named}' is not a domain") : null;
                var start = from ?? DateTimeOffset.UtcNow.AddDays(-30);
                foreach (var a in report.Attempts(d, start, limit: Math.Max(1, p.GetValue(limit)))) Console.WriteLine(RefusedLine(a, withNode: store.IsShared));
                var hosts = report.CountsPerHost(d, start);
                foreach (var h in hosts) Console.WriteLine(HostLine(h));
                if (report.Totals(d, start).MoreHosts(hosts.Count) is > 0 and var more) Console.WriteLine(MoreHostsLine(more));
                return 0;
            }
            using var deliveryLog = new DeliveryLogRepository(store, NullLogger.Instance);
            foreach (var e in deliveryLog.Query(p.GetValue(recipient)?.ToLowerInvariant(), p.GetValue(sender), from, Math.Max(1, p.GetValue(limit)), p.GetValue(account)?.ToLowerInvariant()))
            {
                Console.WriteLine(Line(e, withNode: store.IsShared));
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// A refused attempt as a line: time, node (shared store), client IP, reverse name (forward-confirmed,
    /// else "unknown"), HELO, envelope sender, recipient, what the session lacked ("no-tls", "protocol",
    /// "cipher", then the TLS it had) and the reply.
    /// </summary>
    public static string RefusedLine(RefusedAttempt a, bool withNode = false)
    {
        var node = !withNode || a.Node.Length == 0 ? "" : $" node={a.Node}";
        var tls = a.TlsProtocol is null ? "" : $" {a.TlsProtocol} {a.TlsCipher}";
        return $"{a.At:yyyy-MM-ddTHH:mm:ss.fffZ}{node} client={a.ClientIp} rdns={a.ReverseName ?? "unknown"} helo={Word(a.Helo)} from=<{a.MailFrom}> to=<{a.Recipient}> lacked={a.Lacked.Name()}{tls} ({a.Reply})";
    }

    /// <summary>The count of one sending host: "host IP rdns=NAME helo=HELO attempts=N last=TIME".</summary>
    public static string HostLine(RefusedSendingHost h) =>
        $"host {h.ClientIp} rdns={h.ReverseName ?? "unknown"} helo={Word(h.Helo)} attempts={h.Attempts} last={h.LastSeen:yyyy-MM-ddTHH:mm:ss.fffZ}";

    /// <summary>After the <see cref="RefusedAttemptRepository.MaxHosts"/> busiest hosts: "hosts N more (not listed)".</summary>
    public static string MoreHostsLine(long more) => $"hosts {more} more (not listed)";

    /// <summary>A sender's word on one line: no spaces or control characters (a hostile HELO must not forge fields).</summary>
    private static string Word(string? s) => s is null or "" ? "-" : new string(s.Select(c => char.IsWhiteSpace(c) || char.IsControl(c) ? '_' : c).ToArray());

    /// <summary>securemx log --refused --send-digest: the digests of a day (default yesterday, UTC) now, as the server's hourly run would.</summary>
    private static async Task<int> SendDigestAsync(string dir, string? domain, string? dayText)
    {
        InstanceOwner.DropTo(dir); // what it spools belongs to the instance's user
        var options = CliOptions.LoadConfig(dir);
        var day = CliDay.Parse(dayText, DateTimeOffset.UtcNow.AddDays(-1));
        var store = CliOptions.OpenStore(dir);
        CliNodeNumber.Use(store, options);
        var router = RecipientRouter.For(new MailboxRepository(store, TimeProvider.System), options);
        using var spool = new MessageSpool(Path.Combine(dir, "spool"), TimeProvider.System, NullLogger.Instance);
        var digest = new RefusedMailDigest(new RefusedAttemptRepository(store), new RoleRepository(store, TimeProvider.System), new ReportSendRepository(store),
            spool, arrivals: null, router, options, options.Node.EffectiveName(), TimeProvider.System, NullLogger.Instance);
        var outcomes = await digest.RunAsync(day, domain?.Trim().TrimEnd('.').ToLowerInvariant());
        foreach (var o in outcomes) Console.WriteLine($"{o.Domain} {day:yyyy-MM-dd}: {o.Result}{(o.QueueId is null ? "" : " " + o.QueueId)}");
        if (outcomes.Count == 0) Console.WriteLine($"{day:yyyy-MM-dd}: no domain with the digest on had refused attempts");
        return outcomes.Any(o => o.Result.StartsWith("failed", StringComparison.Ordinal)) ? 1 : 0;
    }

    /// <summary>
    /// One row as a line: time, queue id, node (on a shared store, when the row names one: a single
    /// box's lines stay as they were, for the scripts that read them), sender, account, recipient, server, result, TLS, reply. TLS is
    /// "local" for a delivery into a Maildir here (no network, nothing to encrypt), "none" for plaintext,
    /// "none starttls-failed: REASON" for plaintext after a failed handshake (the server offered TLS),
    /// and TLS below the strict profile ends in "weak". What the recipient domain's MTA-STS policy said
    /// of the attempt follows as "mta-sts-failure: RESULT-TYPE: DETAIL" (RFC 8460 result types).
    /// </summary>
    public static string Line(DeliveryLogEntry e, bool withNode = false)
    {
        var tls = e.IsLocal ? "tls=local"
            : e.TlsProtocol is null ? (e.TlsFailureText is { } failed ? $"tls=none {failed}" : "tls=none")
            : $"tls={e.TlsVerification} {e.TlsProtocol} {e.TlsCipher}{(TlsGrading.Of(e.TlsProtocol, e.TlsCipher) == TlsGrade.Weak ? " weak" : "")}";
        var server = e.MxHost is null ? "" : e.Ip is null ? $" relay={e.MxHost}" : $" relay={e.MxHost}[{e.Ip}]";
        // Remote replies carry their enhanced code in the text already ("250 2.0.0 Ok").
        var reply = e.Enhanced is not null && e.Text?.StartsWith(e.Enhanced, StringComparison.Ordinal) != true ? $"{e.Code} {e.Enhanced} {e.Text}" : $"{e.Code} {e.Text}";
        var who = e.Account is null ? "" : $" account={e.Account}";
        var node = !withNode || e.Node.Length == 0 ? "" : $" node={e.Node}";
        var sts = e.MtaStsFailure is null ? "" : $" mta-sts-failure: {e.MtaStsFailure}";
        return $"{e.At:yyyy-MM-ddTHH:mm:ss.fffZ} {e.MessageId}{node} from=<{e.Sender}>{who} to=<{e.Recipient}>{server} {e.Result} {tls}{sts} ({reply})";
    }
}
