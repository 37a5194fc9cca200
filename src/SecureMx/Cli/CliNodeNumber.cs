using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// A command that spools mail itself (sendmail, queue bounce's DSN) makes queue ids with this
/// node's number, as serve registered it, so that they are unique across the nodes of a shared
/// store like the server's own; 0 before the node's first start.
/// </summary>
public static class CliNodeNumber
{
    public static void Use(StoreDatabase db, SecureMxOptions options) =>
        MessageId.NodeNumber = new NodeRegistry(db, TimeProvider.System).NumberOf(options.Node.EffectiveName()) ?? 0;
}
