namespace SecureMx.Store;

/// <summary>One pending (queued or deferred) recipient of a node's queue, as its summary publishes it (node_queue).</summary>
public sealed record NodeQueueRow(
    string Node,
    string QueueId,
    int RecipientIndex,
    string Recipient,
    string Sender,
    DateTimeOffset ReceivedAt,
    long Size,
    string State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError);
