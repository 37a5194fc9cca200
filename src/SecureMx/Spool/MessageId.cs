namespace SecureMx.Spool;

/// <summary>
/// Queue ids: 16 characters of Crockford base32 (80 bits) — 48 bits of milliseconds (so ids sort by
/// arrival), 10 bits of the node's number (unique among the nodes that share a store, so ids are
/// unique across nodes) and 22 bits of a per-process sequence. Safe as a file name and short enough
/// for logs and Received headers. Ids made before nodes had numbers (48 bits ms, 32 random bits)
/// have the same form and stay valid.
/// </summary>
public static class MessageId
{
    internal const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>The process's generator: one sequence per process, so two ids it makes never collide.</summary>
    private static readonly MessageIdGenerator Process = new(0);

    /// <summary>The node number this process puts into its ids (0 until serve has registered the node).</summary>
    public static int NodeNumber
    {
        get => Process.Node;
        set => Process.Node = value;
    }

    public static string New(TimeProvider time) => Process.Next(time);

    public static bool IsValid(string id) => id.Length == 16 && id.All(c => Alphabet.Contains(c));
}
