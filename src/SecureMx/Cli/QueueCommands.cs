using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx queue: what is waiting, and the operator's levers (postqueue/postsuper in Postfix terms).
/// Works next to a running server: both use the same SQLite queue database.
/// </summary>
public static class QueueCommands
{
    private static MessageSpool OpenSpool(string data) =>
        new(Path.Combine(CliOptions.RequireInstance(data), "spool"), TimeProvider.System, NullLogger.Instance);

    /// <summary>For list and show: read-only, so that the queue can be read on a full disk.</summary>
    private static MessageSpool ReadSpool(string data) =>
        MessageSpool.OpenForReading(Path.Combine(CliOptions.RequireInstance(data), "spool"), TimeProvider.System, NullLogger.Instance);

    private static string RequireId(string id)
    {
        id = id.Trim().ToUpperInvariant();
        if (!MessageId.IsValid(id)) throw new CliException($"'{id}' is not a queue id (16 characters, as printed by 'securemx queue list')");
        return id;
    }

    public static Command Create()
    {
        var queue = new Command("queue", "the mail queue: list, show, retry, delete, bounce, vacuum");
        queue.Subcommands.Add(List());
        queue.Subcommands.Add(Show());
        queue.Subcommands.Add(Retry());
        queue.Subcommands.Add(Delete());
        queue.Subcommands.Add(Bounce());
        queue.Subcommands.Add(Vacuum());
        return queue;
    }

    /// <summary>
    /// The instance's time rules for the expiry column, or null (with a warning) when its configuration
    /// cannot be read: the queue must stay readable when a broken securemx.json is why serve does not start.
    /// </summary>
    private static QueueTimeRules? TimeRulesOrWarn(string dir)
    {
        var rules = CliOptions.TryTimeRules(dir, out var problem);
        if (rules is null) Console.Error.WriteLine($"securemx: warning: expiry times not shown: {problem}");
        return rules;
    }

    private static Command List()
    {
        var data = CliOptions.Data();
        var json = new Option<bool>("--json") { Description = "one JSON document for scripts" };
        var allNodes = new Option<bool>("--all-nodes") { Description = "every node's pending recipients as it last published them to the shared store (node, age of the summary; stale after 1m)" };
        var cmd = new Command("list", "queued messages: id, age, size, sender; each recipient with state, next try, expiry, last error") { data, json, allNodes };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            if (p.GetValue(allNodes))
            {
                var registry = new NodeRegistry(CliOptions.OpenStoreForReading(dir), TimeProvider.System);
                var (nodes, rows) = (registry.Nodes(), registry.PublishedQueue());
                Console.Write(p.GetValue(json) ? OtherNodesQueue.Json(nodes, rows, DateTimeOffset.UtcNow) + "\n" : OtherNodesQueue.Text(nodes, rows, DateTimeOffset.UtcNow));
                return 0;
            }
            var rules = TimeRulesOrWarn(dir);
            using var spool = ReadSpool(dir);
            var now = DateTimeOffset.UtcNow;
            var all = spool.Queue.ListAll();
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(all.Select(m => ToJson(m.Envelope, m.Recipients, rules)), ConfigLoader.Json));
                return 0;
            }
            if (all.Count == 0)
            {
                Console.WriteLine("queue is empty");
                return 0;
            }
            int pending = 0;
            foreach (var (e, recipients) in all)
            {
                Console.WriteLine($"{e.Id}  {Duration.Format(now - e.ReceivedAt),6} ago  {Size(e.Size),7}  <{e.Sender}>");
                foreach (var r in recipients)
                {
                    var line = new StringBuilder($"    {r.Recipient.Address,-36} {r.State.ToString().ToLowerInvariant(),-9}");
                    if (r.State is RecipientState.Queued or RecipientState.Deferred)
                    {
                        pending++;
                        line.Append(r.NextAttemptAt <= now ? "  next: now" : $"  next: {At(r.NextAttemptAt, now)}");
                        if (rules is not null) line.Append($"  expires: {At(rules.ExpiresAt(e.ReceivedAt, r.LastOutcome), now)}");
                    }
                    if (r.Attempts > 0) line.Append($"  attempts: {r.Attempts}");
                    if (r.LastError is not null) line.Append($"  last: {r.LastError}");
                    Console.WriteLine(line);
                }
            }
            Console.WriteLine($"-- {all.Count} message(s), {pending} recipient(s) pending");
            return 0;
        });
        return cmd;
    }

    /// <summary>"2026-03-02T09:05:00Z (in 5m)", or "(… ago)" once it has passed.</summary>
    private static string At(DateTimeOffset t, DateTimeOffset now) =>
        $"{t:yyyy-MM-ddTHH:mm:ssZ} ({(t >= now ? $"in {Duration.Format(t - now)}" : $"{Duration.Format(now - t)} ago")})";

    private static bool Pending(QueuedRecipient r) => r.State is RecipientState.Queued or RecipientState.Deferred;

    private static object ToJson(Envelope e, List<QueuedRecipient> recipients, QueueTimeRules? rules) => new
    {
        id = e.Id,
        receivedAt = e.ReceivedAt,
        sender = e.Sender,
        size = e.Size,
        envid = e.Parameters.EnvId,
        ret = e.Parameters.Ret == DsnReturn.Unspecified ? null : e.Parameters.Ret.ToString().ToUpperInvariant(),
        requireTls = e.Parameters.RequireTls,
        client = new { ip = e.Client.ClientIp, helo = e.Client.Helo, listener = e.Client.Listener, protocol = e.Client.Protocol, tlsProtocol = e.Client.Tls?.Protocol, tlsCipher = e.Client.Tls?.CipherSuite, account = e.Client.Account },
        recipients = recipients.Select(r => new
        {
            address = r.Recipient.Address,
            original = r.Recipient.OriginalAddress,
            route = r.Recipient.Route.ToString().ToLowerInvariant(),
            state = r.State.ToString().ToLowerInvariant(),
            attempts = r.Attempts,
            nextAttemptAt = Pending(r) ? r.NextAttemptAt : (DateTimeOffset?)null,
            expiresAt = Pending(r) ? rules?.ExpiresAt(e.ReceivedAt, r.LastOutcome) : null,
            lastError = r.LastError,
            lastOutcome = r.LastOutcome is not { } o ? null : new
            {
                reason = o.Reason.Name(),
                status = o.Status.ToString(),
                code = o.ReplyCode,
                host = o.Host,
                address = o.Address?.ToString(),
                requiredTls = o.RequiredTls is not { } tls ? null : new { level = tls.Level.Name(), source = tls.Source.Name() },
            },
        }),
    };

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
    };

    private static Command Show()
    {
        var data = CliOptions.Data();
        var id = new Argument<string>("ID");
        var json = new Option<bool>("--json") { Description = "the envelope and recipients as one JSON document (as in queue list --json), without the header" };
        var cmd = new Command("show", "one queued message: envelope, recipients and the message header") { id, json, data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var rules = TimeRulesOrWarn(dir);
            using var spool = ReadSpool(dir);
            var qid = RequireId(p.GetValue(id)!);
            var m = spool.Queue.Load(qid) ?? throw new CliException($"message {qid} is not in the queue");
            var (e, recipients) = m;
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(ToJson(e, recipients, rules), ConfigLoader.Json));
                return 0;
            }
            Console.WriteLine($"id:          {e.Id}");
            Console.WriteLine($"received:    {e.ReceivedAt:yyyy-MM-ddTHH:mm:ssZ} on listener {e.Client.Listener} from {e.Client.Helo} [{e.Client.ClientIp}] with {e.Client.Protocol}");
            Console.WriteLine($"tls:         {(e.Client.Tls is null ? "none" : $"{e.Client.Tls.Protocol} {e.Client.Tls.CipherSuite}")}");
            Console.WriteLine($"sender:      <{e.Sender}>{(e.Client.Account is null ? "" : $" (account {e.Client.Account})")}");
            Console.WriteLine($"size:        {e.Size} bytes, body {e.Parameters.Body}{(e.Parameters.SmtpUtf8 ? ", SMTPUTF8" : "")}");
            if (e.Parameters.EnvId is not null || e.Parameters.Ret != DsnReturn.Unspecified)
                Console.WriteLine($"dsn:         ret={e.Parameters.Ret} envid={e.Parameters.EnvId}");
            // RFC 8689: relayed only over authenticated TLS to servers that advertise REQUIRETLS, else it fails with 5.7.30.
            if (e.Parameters.RequireTls) Console.WriteLine("requiretls:  yes (authenticated TLS and REQUIRETLS on every hop)");
            foreach (var r in recipients)
            {
                Console.WriteLine($"recipient:   {r.Recipient.Address} (rcpt to {r.Recipient.OriginalAddress}) {r.State.ToString().ToLowerInvariant()}, attempts {r.Attempts}" +
                    (Pending(r) ? $", next {r.NextAttemptAt:yyyy-MM-ddTHH:mm:ssZ}" + (rules is null ? "" : $", expires {rules.ExpiresAt(e.ReceivedAt, r.LastOutcome):yyyy-MM-ddTHH:mm:ssZ}") : "") +
                    (r.LastError is null ? "" : $", last: {r.LastError}"));
            }
            Console.WriteLine();
            // The header only: bodies are the customer's business, headers are what an operator needs.
            using var stream = spool.OpenData(qid);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            for (var line = reader.ReadLine(); line is not null && line.Length > 0; line = reader.ReadLine()) Console.WriteLine(line);
            return 0;
        });
        return cmd;
    }

    private static Command Retry()
    {
        var data = CliOptions.Data();
        var id = new Argument<string?>("ID") { Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "every pending recipient of every message" };
        var cmd = new Command("retry", "try deferred recipients now (a running server picks them up at once)") { id, all, data };
        cmd.SetAction(p =>
        {
            var given = p.GetValue(id);
            if (given is null == !p.GetValue(all)) throw new CliException("give a queue ID or --all (not both)");
            using var spool = OpenSpool(p.GetValue(data)!);
            var qid = given is null ? null : RequireId(given);
            if (qid is not null && spool.Queue.Load(qid) is null) throw OtherNodesQueue.NotHere(CliOptions.RequireInstance(p.GetValue(data)!), qid);
            // Before the change too: a look of the server that sees the new due times sees this signal (QueueWakeSignal).
            QueueWakeSignal.Signal(spool.Root);
            var n = spool.Queue.RetryNow(qid, DateTimeOffset.UtcNow);
            if (n > 0) QueueWakeSignal.Signal(spool.Root);
            Console.WriteLine($"{n} recipient(s) scheduled for immediate delivery");
            return 0;
        });
        return cmd;
    }

    private static Command Bounce()
    {
        var data = CliOptions.Data();
        var id = new Argument<string>("ID");
        var cmd = new Command("bounce", "give up on a message: its pending recipients fail and the sender gets a failure DSN") { id, data };
        cmd.SetAction(async p =>
        {
            var dir = CliOptions.RequireData(p.GetValue(data)!);
            InstanceOwner.DropTo(dir); // what it spools belongs to the instance's user
            var options = CliOptions.LoadConfig(dir);
            using var spool = OpenSpool(dir);
            var qid = RequireId(p.GetValue(id)!);
            var store = CliOptions.OpenStore(dir);
            CliNodeNumber.Use(store, options);
            var router = RecipientRouter.For(new MailboxRepository(store, TimeProvider.System), options);
            var bounce = new QueueBounce(spool, new DsnEmitter(spool, router, options, TimeProvider.System, NullLogger.Instance));
            var result = await bounce.BounceAsync(qid);
            var sender = result.Envelope?.Sender ?? throw OtherNodesQueue.NotHere(dir, qid);
            if (result.Failed == 0) throw new CliException($"message {qid} has no pending recipients");
            Console.WriteLine($"message {qid} bounced: {result.Failed} recipient(s) failed{(sender.Length == 0 ? " (null sender: no DSN)" : $", DSN queued for <{sender}>")}");
            return 0;
        });
        return cmd;
    }

    private static Command Delete()
    {
        var data = CliOptions.Data();
        var id = new Argument<string>("ID");
        var cmd = new Command("delete", "remove a message from the queue without notifying anyone") { id, data };
        cmd.SetAction(async p =>
        {
            using var spool = OpenSpool(p.GetValue(data)!);
            var qid = RequireId(p.GetValue(id)!);
            if (spool.Queue.Load(qid) is null) throw OtherNodesQueue.NotHere(CliOptions.RequireInstance(p.GetValue(data)!), qid);
            await spool.RemoveAsync(qid);
            Console.WriteLine($"message {qid} deleted");
            return 0;
        });
        return cmd;
    }

    private static Command Vacuum()
    {
        var data = CliOptions.Data();
        var cmd = new Command("vacuum", "give the queue database's free pages back to the file system (the server must be stopped)") { data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var result = QueueVacuum.Run(dir);
            Console.WriteLine($"queue database: {result.BytesBefore / 1024} KiB before, {result.BytesAfter / 1024} KiB after");
            return 0;
        });
        return cmd;
    }
}
