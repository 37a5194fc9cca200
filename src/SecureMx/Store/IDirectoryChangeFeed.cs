namespace SecureMx.Store;

/// <summary>
/// Tells a node that the directory (domains, mailboxes, aliases, the destination table) changed,
/// wherever the change was made: this node, another one, the CLI, `store copy`, psql.
/// </summary>
public interface IDirectoryChangeFeed
{
    /// <summary>
    /// Connects and listens until the connection is lost (then it throws) or <paramref name="ct"/>
    /// ends it. <paramref name="connected"/> runs once it listens (everything changed after that is
    /// reported); <paramref name="changed"/> at every change, on the feed's own thread (it must not block).
    /// </summary>
    Task ListenAsync(Action connected, Action changed, CancellationToken ct);
}
