using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// The queues of every node that shares the store, as their summaries publish them (node_queue,
/// every 5 s): `queue list --all-nodes`, and the refusal of `queue retry|bounce|delete` for a message
/// another node holds (its spool is on that machine: only that node can act on it).
/// </summary>
public static class OtherNodesQueue
{
    /// <summary>The error for an id that is not in this node's queue: the node whose summary has it, when one does.</summary>
    public static CliException NotHere(string dir, string queueId)
    {
        string? holder;
        try
        {
            var self = CliOptions.LoadConfig(dir).Node.EffectiveName();
            holder = new NodeRegistry(CliOptions.OpenStoreForReading(dir), TimeProvider.System).HolderOf(queueId, self);
        }
        catch (Exception ex) when (ex is CliException || StoreUnavailable.Is(ex))
        {
            return new CliException($"message {queueId} is not in this node's queue (the other nodes' queue summaries could not be read: {ex.Message})");
        }
        return holder is null
            ? new CliException($"message {queueId} is not in the queue")
            : new CliException($"message {queueId} is held by node {holder}; run the command there");
    }

    /// <summary>`queue list --all-nodes`: every registered node, its summary's age (stale after a minute), and its published rows.</summary>
    public static string Text(IReadOnlyList<NodeRecord> nodes, IReadOnlyList<NodeQueueRow> rows, DateTimeOffset now)
    {
        if (nodes.Count == 0) return "no node has registered in this store\n";
        var sb = new StringBuilder();
        var byNode = rows.ToLookup(r => r.Node);
        foreach (var node in nodes)
        {
            var age = Duration.Format(now - node.SeenAt < TimeSpan.Zero ? TimeSpan.Zero : now - node.SeenAt);
            sb.Append(CultureInfo.InvariantCulture, $"node {node.Name}: summary {age} old{(node.IsStale(now) ? " (STALE: not seen for more than 1m)" : "")}, {node.QueuedMessages} message(s) pending\n");
            var mine = byNode[node.Name].ToList();
            foreach (var r in mine)
            {
                var line = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"    {r.QueueId}  {r.Recipient,-36} {r.State,-9} <{r.Sender}>  size {r.Size}  attempts {r.Attempts}  next: {r.NextAttemptAt:yyyy-MM-ddTHH:mm:ssZ}"));
                if (r.LastError is not null) line.Append("  last: ").Append(r.LastError);
                sb.Append(line).Append('\n');
            }
            if (node.QueuedMessages > 0 && mine.Count >= NodeRegistry.MaxPublishedRows)
                sb.Append(CultureInfo.InvariantCulture, $"    … only the first {NodeRegistry.MaxPublishedRows} recipients are published; 'securemx queue list' on {node.Name} shows all\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"-- {nodes.Count} node(s), {rows.Count} recipient(s) pending\n");
        return sb.ToString();
    }

    /// <summary>`queue list --all-nodes --json`: one document, a node per entry with its rows.</summary>
    public static string Json(IReadOnlyList<NodeRecord> nodes, IReadOnlyList<NodeQueueRow> rows, DateTimeOffset now)
    {
        var byNode = rows.ToLookup(r => r.Node);
        return JsonSerializer.Serialize(nodes.Select(n => new
        {
            node = n.Name,
            number = n.Number,
            seenAt = n.SeenAt,
            ageSeconds = (long)Math.Max(0, (now - n.SeenAt).TotalSeconds),
            stale = n.IsStale(now),
            queuedMessages = n.QueuedMessages,
            recipients = byNode[n.Name].Select(r => new
            {
                id = r.QueueId,
                index = r.RecipientIndex,
                address = r.Recipient,
                sender = r.Sender,
                receivedAt = r.ReceivedAt,
                size = r.Size,
                state = r.State,
                attempts = r.Attempts,
                nextAttemptAt = r.NextAttemptAt,
                lastError = r.LastError,
            }),
        }), ConfigLoader.Json);
    }
}
