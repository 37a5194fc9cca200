using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// The other nodes' queues for the deferred-mail page: their published summaries in the shared
/// store (<see cref="Registry"/>; null on a single box, which has no other node), all but this
/// node's own (<see cref="Self"/>), whose queue the page reads directly.
/// </summary>
public sealed record OtherNodes(NodeRegistry? Registry, string Self)
{
    public static readonly OtherNodes None = new(null, "");
}
