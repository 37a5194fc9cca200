namespace SecureMx.Store;

/// <summary>
/// <see cref="StoreCopy"/> stopped in a log table after the configuration was committed: the message says
/// exactly what the target now holds (every table before <see cref="Table"/> complete, <see cref="Table"/>'s
/// first <see cref="Copied"/> rows in the source's order, nothing after it) and how to start again.
/// </summary>
public sealed class StoreCopyIncompleteException(IReadOnlyList<(string Table, long Rows)> complete, string table, long copied, long total, Exception inner)
    : Exception(Describe(complete, table, copied, total, inner), inner)
{
    /// <summary>The tables copied completely, with their counts.</summary>
    public IReadOnlyList<(string Table, long Rows)> Complete { get; } = complete;

    /// <summary>The table that failed.</summary>
    public string Table { get; } = table;

    /// <summary>The rows of <see cref="Table"/> committed in the target (its first ones in the source's order).</summary>
    public long Copied { get; } = copied;

    private static string Describe(IReadOnlyList<(string Table, long Rows)> complete, string table, long copied, long total, Exception inner) =>
        $"store copy stopped in {table} after {copied} of {total} row(s): {inner.Message}. "
        + $"The target holds {string.Join(", ", complete.Select(c => $"{c.Table}: {c.Rows}"))} (complete), {table}: {copied} (its first rows), nothing of the tables after it. "
        + "To start again, drop and recreate the target database and run store copy again (it copies into an empty database only)";
}
