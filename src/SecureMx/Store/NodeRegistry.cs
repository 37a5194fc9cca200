using System.Data.Common;

namespace SecureMx.Store;

/// <summary>
/// The nodes that share a store (docs/ARCHITECTURE.md, "Several nodes"): each registers at serve
/// start and gets a number 0–1023 for its queue ids, the lowest free one, kept across restarts (the
/// row stays, keyed by the name); each publishes a summary of its pending recipients, replaced in one
/// transaction, which `queue list --all-nodes`, the dashboard and the CLI's refusal read.
/// Portable SQL: two nodes that start together and pick the same free number both insert with
/// ON CONFLICT DO NOTHING; the UNIQUE constraint lets one in, the other takes the next number.
/// </summary>
public sealed class NodeRegistry(StoreDatabase db, TimeProvider time)
{
    /// <summary>Node numbers are 10 bits of a queue id.</summary>
    public const int MaxNodes = 1024;

    /// <summary>At most this many recipients per node in a summary; the count in nodes.queued_messages is always complete.</summary>
    public const int MaxPublishedRows = 10_000;

    /// <summary>A node that published within this window is alive; one older is stale (and its name free for another instance).</summary>
    public static readonly TimeSpan LiveWindow = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Registers <paramref name="name"/> for <paramref name="instance"/> (host name and data directory
    /// of this process) and returns its node number. The same instance takes its row back at once (a
    /// restart, also after a crash); another instance gets the name only when its holder has not been
    /// seen for <see cref="LiveWindow"/>, else <see cref="StoreException"/>: two live nodes under one
    /// name would mix their logs and summaries and could repeat each other's queue ids. Without
    /// <paramref name="exclusive"/> (a store of its own, which nobody else writes: SQLite, where seen_at
    /// is not kept fresh) the name is always taken, e.g. by an instance restored from a backup elsewhere.
    /// </summary>
    public int Register(string name, string instance, string version, bool exclusive = true)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var now = time.GetUtcNow();
            using var c = db.Connect();
            var existing = c.Rows("SELECT number, seen_at, instance FROM nodes WHERE name = @name",
                r => (Number: r.GetInt32(0), SeenAt: r.GetInt64(1), Instance: r.GetString(2)), ("@name", name));
            if (existing.Count == 1)
            {
                var (number, seenAt, holder) = existing[0];
                var seen = DateTimeOffset.FromUnixTimeMilliseconds(seenAt);
                if (exclusive && holder != instance && now - seen <= LiveWindow)
                {
                    throw new StoreException($"node name {name} is in use by another live node (instance {holder}, seen {(int)(now - seen).TotalSeconds}s ago): " +
                        $"give this node its own node.name, or stop the other one and wait {(int)LiveWindow.TotalSeconds}s");
                }
                // Only if nobody else took the row meanwhile (the same check, made atomic by seen_at and instance).
                var taken = c.Execute("""
                    UPDATE nodes SET started_at = @now, seen_at = @now, version = @version, instance = @instance
                    WHERE name = @name AND seen_at = @seen AND instance = @holder
                    """, ("@now", now.ToUnixTimeMilliseconds()), ("@version", version), ("@instance", instance), ("@name", name), ("@seen", seenAt), ("@holder", holder));
                if (taken == 1) return number;
                continue;
            }
            var used = c.Rows("SELECT number FROM nodes", r => r.GetInt32(0)).ToHashSet();
            var free = Enumerable.Range(0, MaxNodes).FirstOrDefault(n => !used.Contains(n), -1);
            if (free < 0) throw new StoreException($"all {MaxNodes} node numbers are in use in this store (table nodes): remove the rows of nodes that are gone for good");
            // A conflict on the name (the same name registered meanwhile) or on the number (another node took it): try again.
            var inserted = c.Execute("""
                INSERT INTO nodes(name, number, started_at, seen_at, queued_messages, version, instance)
                VALUES(@name, @number, @now, @now, 0, @version, @instance)
                ON CONFLICT DO NOTHING
                """, ("@name", name), ("@number", free), ("@now", now.ToUnixTimeMilliseconds()), ("@version", version), ("@instance", instance));
            if (inserted == 1) return free;
        }
        throw new StoreException($"could not register node {name}: the nodes table kept changing (50 attempts)");
    }

    /// <summary>
    /// Replaces <paramref name="node"/>'s published queue with <paramref name="rows"/> (at most
    /// <see cref="MaxPublishedRows"/> of them are written) and sets its seen_at and message count, in one transaction.
    /// </summary>
    public void Publish(string node, IReadOnlyList<NodeQueueRow> rows, long queuedMessages)
    {
        using var c = db.Connect();
        // Only this node's rows, which no configuration check reads: not under the cluster's write lock.
        c.BeginUnlocked();
        c.Execute("DELETE FROM node_queue WHERE node = @node", ("@node", node));
        c.InsertRows("INSERT INTO node_queue(node, queue_id, recipient_index, recipient, sender, received_at, size, state, attempts, next_attempt_at, last_error)",
            rows.Take(MaxPublishedRows).Select(r => new object?[]
            {
                node, r.QueueId, r.RecipientIndex, r.Recipient, r.Sender, r.ReceivedAt.ToUnixTimeMilliseconds(), r.Size, r.State, r.Attempts,
                r.NextAttemptAt.ToUnixTimeMilliseconds(), r.LastError,
            }).ToList());
        c.Execute("UPDATE nodes SET seen_at = @now, queued_messages = @n WHERE name = @node",
            ("@now", time.GetUtcNow().ToUnixTimeMilliseconds()), ("@n", queuedMessages), ("@node", node));
        c.Commit();
    }

    /// <summary>Every registered node, by name.</summary>
    public List<NodeRecord> Nodes() => db.Rows(
        "SELECT name, number, started_at, seen_at, queued_messages, version FROM nodes ORDER BY name",
        r => new NodeRecord(r.GetString(0), r.GetInt32(1), r.Time(2), r.Time(3), r.GetInt64(4), r.GetString(5)));

    /// <summary>Every node's published rows, by node, then queue id and recipient.</summary>
    public List<NodeQueueRow> PublishedQueue() => db.Rows(
        "SELECT node, queue_id, recipient_index, recipient, sender, received_at, size, state, attempts, next_attempt_at, last_error FROM node_queue ORDER BY node, queue_id, recipient_index",
        Read);

    /// <summary>The number registered for <paramref name="name"/>, or null when no node of that name has started on this store.</summary>
    public int? NumberOf(string name) =>
        db.Scalar("SELECT number FROM nodes WHERE name = @name", ("@name", name)) is { } n and not DBNull ? Convert.ToInt32(n, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The node other than <paramref name="exceptNode"/> whose summary holds <paramref name="queueId"/>, or null.</summary>
    public string? HolderOf(string queueId, string exceptNode) =>
        db.Scalar("SELECT MIN(node) FROM node_queue WHERE queue_id = @id AND node <> @node", ("@id", queueId), ("@node", exceptNode)) as string;

    private static NodeQueueRow Read(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.Time(5), r.GetInt64(6), r.GetString(7),
            r.GetInt32(8), r.Time(9), r.NullableString(10));
}
