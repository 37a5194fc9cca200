using System.Data.Common;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SecureMx.Store;

/// <summary>
/// The delivery log: one row per delivery attempt and recipient, with the TLS it got. Rows are
/// appended through a <see cref="BatchingLogWriter{T}"/> (every 200 ms or 500 rows) on a connection
/// of their own with synchronous=NORMAL (<see cref="StoreDatabase.ConnectForLogWrites"/>); every
/// query flushes first, so it sees every attempt made so far.
/// </summary>
public sealed class DeliveryLogRepository : IDisposable
{
    private const string Columns = "at, message_id, sender, account, recipient, mx_host, ip, result, code, enhanced, text, tls_protocol, tls_cipher, tls_verification, tls_failure, node, mta_sts_failure";

    private readonly StoreDatabase _db;
    private readonly LogWriteConnection _writeConnection;
    private readonly string _node;

    /// <param name="timers">The batching timer's clock; real time unless a test drives it.</param>
    /// <param name="node">The node whose attempts this writer logs (node.name; the rows' node column).</param>
    public DeliveryLogRepository(StoreDatabase db, ILogger logger, TimeProvider? timers = null, LogWriterOptions? options = null, string node = "")
    {
        _db = db;
        _node = node;
        _writeConnection = new LogWriteConnection(db);
        Writer = new BatchingLogWriter<DeliveryLogEntry>("delivery log", Insert, logger, timers ?? TimeProvider.System, options);
    }

    /// <summary>The write-behind; the host stops it after the queue, which flushes what is left.</summary>
    public BatchingLogWriter<DeliveryLogEntry> Writer { get; }

    /// <summary>Adds delivery attempts; never waits for the database (see <see cref="BatchingLogWriter{T}"/>).</summary>
    public void Append(IEnumerable<DeliveryLogEntry> entries) => Writer.Append(entries);

    /// <summary>Writes the rows not written yet.</summary>
    public void Flush() => Writer.Flush();

    /// <summary>Delivery log rows, newest last, filtered by recipient, sender, account and time (`securemx log`).</summary>
    public List<DeliveryLogEntry> Query(string? recipient, string? sender, DateTimeOffset? since, int limit, string? account = null)
    {
        Flush();
        return _db.Rows($"""
            SELECT {Columns}
            FROM (SELECT * FROM delivery_log
                  WHERE (CAST(@r AS TEXT) IS NULL OR recipient = @r) AND (CAST(@s AS TEXT) IS NULL OR sender = @s) AND (CAST(@acct AS TEXT) IS NULL OR account = @acct) AND (CAST(@since AS BIGINT) IS NULL OR at >= @since)
                  ORDER BY at DESC, id DESC LIMIT @limit) AS newest
            ORDER BY at, id
            """, Read, ("@r", recipient), ("@s", sender), ("@acct", account), ("@since", since?.ToUnixTimeMilliseconds()), ("@limit", limit));
    }

    /// <summary>Delivery log rows matching <paramref name="q"/>, newest first (the dashboard's log page).</summary>
    public List<DeliveryLogEntry> Search(DeliveryLogQuery q)
    {
        Flush();
        var parameters = new List<(string, object?)>();
        string Param(object value)
        {
            var name = "@p" + parameters.Count;
            parameters.Add((name, value));
            return name;
        }
        // Addresses compare without case (SMTP domains are case-insensitive; stored mailboxes are lower case).
        var d = _db.Dialect;
        string SenderInDomain(string domain) => $"sender {d.LikeIgnoringCase} '%@' || {Param(StoreDatabase.EscapeLike(domain))} ESCAPE '\\'";
        string OfAccount(string address)
        {
            var p = Param(address);
            return $"({d.EqualsIgnoringCase("account", p)} OR {d.EqualsIgnoringCase("sender", p)})";
        }

        var where = new List<string>();
        if (q.Accounts is not null || q.SenderDomains is not null)
        {
            var scope = (q.Accounts ?? []).Select(OfAccount).Concat((q.SenderDomains ?? []).Select(SenderInDomain)).ToList();
            where.Add(scope.Count == 0 ? "1 = 0" : "(" + string.Join(" OR ", scope) + ")");
        }
        if (q.Account is { } account) where.Add(OfAccount(account));
        if (q.SenderDomain is { } senderDomain) where.Add(SenderInDomain(senderDomain));
        if (q.Recipient is { } recipient)
        {
            where.Add(recipient.Contains('@')
                ? d.EqualsIgnoringCase("recipient", Param(recipient))
                : $"recipient {d.LikeIgnoringCase} '%@' || {Param(StoreDatabase.EscapeLike(recipient))} ESCAPE '\\'");
        }
        // Local rows written before verification "local" have host "local" and no address (DeliveryLogEntry.IsLocal).
        const string oldLocal = "(COALESCE(mx_host, '') = 'local' AND ip IS NULL)";
        if (q.Verification is { } verification)
            where.Add(verification == DeliveryLogEntry.Local ? $"(tls_verification = 'local' OR {oldLocal})" : $"tls_verification = {Param(verification)} AND NOT {oldLocal}");
        if (q.Result is { } result) where.Add($"result = {Param(result)}");
        if (q.Since is { } since) where.Add($"at >= {Param(since.ToUnixTimeMilliseconds())}");

        var sql = new StringBuilder($"SELECT {Columns} FROM delivery_log");
        if (where.Count > 0) sql.Append(" WHERE ").AppendJoin(" AND ", where);
        sql.Append(" ORDER BY at DESC, id DESC LIMIT ").Append(Param(Math.Max(0, q.Limit)));
        return _db.Rows(sql.ToString(), Read, parameters.ToArray());
    }

    public void Dispose()
    {
        Writer.Dispose();
        _writeConnection.Dispose();
    }

    /// <summary>One batch, one transaction, a statement per <see cref="StoreConnection.RowsPerInsert"/> rows.</summary>
    private void Insert(IReadOnlyList<DeliveryLogEntry> entries) => _writeConnection.InTransaction(c =>
        c.InsertRows($"INSERT INTO delivery_log({Columns})", entries.Select(e => new object?[]
        {
            e.At.ToUnixTimeMilliseconds(), e.MessageId, e.Sender, e.Account, e.Recipient, e.MxHost, e.Ip, e.Result, e.Code, e.Enhanced,
            e.Text, e.TlsProtocol, e.TlsCipher, e.TlsVerification, e.TlsFailure, _node, e.MtaStsFailure,
        }).ToList()));

    private static DeliveryLogEntry Read(DbDataReader r) =>
        new(r.Time(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.NullableString(5), r.NullableString(6), r.GetString(7),
            r.IsDBNull(8) ? null : r.GetInt32(8), r.NullableString(9), r.NullableString(10), r.NullableString(11), r.NullableString(12), r.GetString(13), r.NullableString(14))
        {
            Node = r.GetString(15),
            MtaStsFailure = r.NullableString(16),
        };
}
