using System.Text;

namespace SecureMx.Store;

/// <summary>
/// A delivery log search for the dashboard. <see cref="Accounts"/> and <see cref="SenderDomains"/>
/// are the scope (both null: every row; else a row is in scope when its account or its sender is one
/// of <see cref="Accounts"/>, or its sender's domain is one of <see cref="SenderDomains"/>). The other
/// fields narrow further; null means no filter.
/// </summary>
public sealed record DeliveryLogQuery
{
    public IReadOnlyList<string>? Accounts { get; init; }

    public IReadOnlyList<string>? SenderDomains { get; init; }

    /// <summary>Rows of this account: submitted by it, or with it as the envelope sender.</summary>
    public string? Account { get; init; }

    /// <summary>Rows whose envelope sender is in this domain.</summary>
    public string? SenderDomain { get; init; }

    /// <summary>A whole address (exact) or a domain (every recipient in it).</summary>
    public string? Recipient { get; init; }

    /// <summary>none, encrypted, dane, verified or local.</summary>
    public string? Verification { get; init; }

    /// <summary>delivered, deferred or failed.</summary>
    public string? Result { get; init; }

    public DateTimeOffset? Since { get; init; }

    public int Limit { get; init; } = 200;
}

public sealed partial class SecureMxStore
{
    /// <summary>Delivery log rows matching <paramref name="q"/>, newest first.</summary>
    public List<DeliveryLogEntry> SearchDeliveryLog(DeliveryLogQuery q)
    {
        FlushDeliveryLog();
        using var c = Open();
        using var cmd = c.CreateCommand();
        var where = new List<string>();
        int n = 0;
        string Param(object value)
        {
            var name = "$p" + n++;
            cmd.Parameters.AddWithValue(name, value);
            return name;
        }
        // Addresses compare without case (SMTP domains are case-insensitive; stored mailboxes are lower case).
        string SenderInDomain(string domain) => $"sender LIKE '%@' || {Param(EscapeLike(domain))} ESCAPE '\\'";
        string OfAccount(string address)
        {
            var p = Param(address);
            return $"(account = {p} COLLATE NOCASE OR sender = {p} COLLATE NOCASE)";
        }

        if (q.Accounts is not null || q.SenderDomains is not null)
        {
            var scope = (q.Accounts ?? []).Select(OfAccount).Concat((q.SenderDomains ?? []).Select(SenderInDomain)).ToList();
            where.Add(scope.Count == 0 ? "0" : "(" + string.Join(" OR ", scope) + ")");
        }
        if (q.Account is { } account) where.Add(OfAccount(account));
        if (q.SenderDomain is { } senderDomain) where.Add(SenderInDomain(senderDomain));
        if (q.Recipient is { } recipient)
        {
            where.Add(recipient.Contains('@')
                ? $"recipient = {Param(recipient)} COLLATE NOCASE"
                : $"recipient LIKE '%@' || {Param(EscapeLike(recipient))} ESCAPE '\\'");
        }
        // Local rows written before verification "local" have host "local" and no address (DeliveryLogEntry.IsLocal).
        const string oldLocal = "(mx_host IS 'local' AND ip IS NULL)";
        if (q.Verification is { } verification)
            where.Add(verification == DeliveryLogEntry.Local ? $"(tls_verification = 'local' OR {oldLocal})" : $"tls_verification = {Param(verification)} AND NOT {oldLocal}");
        if (q.Result is { } result) where.Add($"result = {Param(result)}");
        if (q.Since is { } since) where.Add($"at >= {Param(since.ToUnixTimeMilliseconds())}");

        var sql = new StringBuilder($"SELECT {DeliveryLogColumns} FROM delivery_log");
        if (where.Count > 0) sql.Append(" WHERE ").AppendJoin(" AND ", where);
        sql.Append(" ORDER BY at DESC, id DESC LIMIT ").Append(Param(Math.Max(0, q.Limit)));
        cmd.CommandText = sql.ToString();

        return ReadDeliveryLog(cmd);
    }

    /// <summary>A literal for LIKE … ESCAPE '\': '_' and '%' match only themselves.</summary>
    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
