namespace SecureMx.Store;

/// <summary>
/// The few SQL expressions in which SQLite and PostgreSQL differ, for the repositories that need
/// them (everything else is written once, in SQL both understand). SQLite compares ASCII without
/// case under LIKE and COLLATE NOCASE; PostgreSQL's LIKE is case-sensitive (ILIKE is not).
/// </summary>
public sealed class StoreDialect
{
    public static readonly StoreDialect Sqlite = new(postgres: false);
    public static readonly StoreDialect PostgreSql = new(postgres: true);

    private readonly bool _postgres;

    private StoreDialect(bool postgres) => _postgres = postgres;

    /// <summary>LIKE without regard to ASCII case.</summary>
    public string LikeIgnoringCase => _postgres ? "ILIKE" : "LIKE";

    /// <summary><paramref name="left"/> = <paramref name="right"/> without regard to case.</summary>
    public string EqualsIgnoringCase(string left, string right) =>
        _postgres ? $"lower({left}) = lower({right})" : $"{left} = {right} COLLATE NOCASE";

    /// <summary>An integer expression as text of at least <paramref name="width"/> digits, zero-padded (sorts as text like the number).</summary>
    public string ZeroPadded(string expression, int width) =>
        _postgres ? $"lpad(CAST({expression} AS TEXT), {width}, '0')" : $"printf('%0{width}d', {expression})";
}
