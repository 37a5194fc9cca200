using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Hosting;

/// <summary>
/// This node among those that share a store (docs/ARCHITECTURE.md, "Several nodes"). At start,
/// before the queue and the listeners: registers node.name in the store's nodes table and puts the
/// node's number into every queue id this process makes (<see cref="MessageId.NodeNumber"/>); a
/// name held by another live node stops the start (<see cref="NodeRegistry.Register"/>). Then, when
/// the store is shared, publishes the node's queue summary every <see cref="PublishInterval"/>: the
/// pending recipients (at most <see cref="NodeRegistry.MaxPublishedRows"/>), the message count and
/// seen_at, replaced in one transaction. An unreachable store skips the tick (logged once, and once
/// when it works again); the queue itself never waits for it — this loop is its only reader here.
/// </summary>
public sealed class NodeService(
    StoreDatabase db, MessageSpool spool, SecureMxOptions options, string dataDirectory, TimeProvider time, ILogger log) : BackgroundService
{
    /// <summary>How often the queue summary is published (a constant: README, "Running several nodes").</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromSeconds(5);

    private readonly NodeRegistry _registry = new(db, time);
    private bool _failing;

    /// <summary>The node's name (node.name, else the host name).</summary>
    public string Name { get; } = options.Node.EffectiveName();

    /// <summary>The number registered at start (0–1023).</summary>
    public int Number { get; private set; }

    /// <summary>Whether the summary is published: only a shared store has other nodes to read it (a single box has `queue list`).</summary>
    public bool Publishes => options.Store.IsShared;

    /// <summary>The identity of this instance in the nodes table: the machine and the data directory.</summary>
    public string Instance => $"{Environment.MachineName}:{dataDirectory}";

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!NodeNameRule.IsValid(Name)) throw new StoreException($"the host name '{Name}' is not a valid node name: set node.name (1 to 63 letters, digits, '.', '-' or '_')");
        var version = typeof(NodeService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        Number = _registry.Register(Name, Instance, version, exclusive: Publishes);
        MessageId.NodeNumber = Number;
        log.LogInformation("node {Node} (number {Number}){Shared}", Name, Number, Publishes ? ", publishing its queue summary to the shared store" : "");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Publishes) return;
        try
        {
            while (true)
            {
                await Task.Run(PublishOnce, stoppingToken);
                await Task.Delay(PublishInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One publication; false when the store (or the local queue) could not be read or written, which the next tick retries.</summary>
    public bool PublishOnce()
    {
        try
        {
            var (pending, messages) = spool.Queue.PendingRecipients(NodeRegistry.MaxPublishedRows);
            _registry.Publish(Name, pending.Select(p => new NodeQueueRow(Name, p.MessageId, p.Index, p.Recipient, p.Sender, p.ReceivedAt, p.Size,
                p.State.ToString().ToLowerInvariant(), p.Attempts, p.NextAttemptAt, p.LastError)).ToList(), messages);
            if (_failing) log.LogInformation("node {Node}: queue summary published again", Name);
            _failing = false;
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // PostgreSQL gone, a timeout, a broken connection: once in the log, then quietly every tick until it works.
            if (!_failing) log.LogWarning("node {Node}: publishing the queue summary failed, retrying every {Seconds}s: {Error}", Name, (int)PublishInterval.TotalSeconds, ex.Message);
            _failing = true;
            return false;
        }
    }
}
