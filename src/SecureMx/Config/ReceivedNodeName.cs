namespace SecureMx.Config;

/// <summary>
/// node.name in Received headers: a comment after the host, which <see cref="NodeNameRule"/>'s
/// characters cannot break.
/// </summary>
public static class ReceivedNodeName
{
    /// <summary>
    /// The node named in Received headers: with a shared store or an explicit node.name; null on a
    /// single box with the default, whose node name (the host name) would only repeat the host after "by".
    /// </summary>
    public static string? For(SecureMxOptions options) =>
        options.Store.IsShared || options.Node.Name.Length > 0 ? options.Node.EffectiveName() : null;
}
