using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Mail;
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
        var cmd = new Command("log", "delivery attempts: time, queue id, sender, recipient, server, result, TLS") { data, recipient, sender, account, since, limit };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            DateTimeOffset? from = null;
            if (p.GetValue(since) is { } s)
            {
                if (Duration.TryParse(s, out var ago)) from = DateTimeOffset.UtcNow - ago;
                else if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) from = t;
                else throw new CliException($"--since: '{s}' is neither a time (2026-11-28T10:00Z) nor a duration (1h)");
            }
            var store = CliOptions.OpenStoreForReading(dir);
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
