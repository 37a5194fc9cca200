namespace SecureMx.Store;

/// <summary>
/// One node of the store's nodes table: its name, the number it puts into queue ids, when it started
/// and when it last published its queue summary, and how many messages that summary counted.
/// </summary>
public sealed record NodeRecord(string Name, int Number, DateTimeOffset StartedAt, DateTimeOffset SeenAt, long QueuedMessages, string Version)
{
    /// <summary>Not seen for longer than <see cref="NodeRegistry.LiveWindow"/>: stopped, crashed or cut off.</summary>
    public bool IsStale(DateTimeOffset now) => now - SeenAt > NodeRegistry.LiveWindow;
}
