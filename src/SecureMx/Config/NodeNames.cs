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
}
