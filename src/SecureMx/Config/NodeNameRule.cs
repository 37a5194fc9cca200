namespace SecureMx.Config;

/// <summary>What a node's name may be: it appears in logs, Received headers and queue summaries, so a short token.</summary>
public static class NodeNameRule
{
    public static bool IsValid(string name) =>
        name.Length is >= 1 and <= 63 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');
}
