namespace SecureMx.Config;

/// <summary>
/// node.name: the node's name in logs, queue summaries and Received headers (a comment there, so
/// no header syntax is at stake), and the key of its row in the shared store's nodes table.
/// </summary>
public static class NodeNames
{
    public const int MaxLength = 63;

    /// <summary>Letters, digits, '.', '-', '_'; 1 to 63 characters.</summary>
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    /// <summary>
    /// The node named in Received headers: with a shared store or an explicit node.name; null on a
    /// single box with the default, whose node name (the host name) would only repeat the host after "by".
    /// </summary>
    public static string? ForTraceHeaders(SecureMxOptions options) =>
        options.Store.IsShared || options.Node.Name.Length > 0 ? options.Node.EffectiveName() : null;
}
