using System.Data.Common;
using System.Globalization;

namespace SecureMx.Store;

/// <summary>
/// Copies a single box's store into the empty shared store of a cluster (<c>securemx store copy</c>;
/// README, "Running several nodes"). Every table of the schema is either copied (<see cref="Configuration"/>,
/// <see cref="Logs"/>) or named with the reason it is not (<see cref="NotCopied"/>); a test fails for a
/// new table that is neither.
/// <para>
/// The configuration (domains with their switches, mailboxes with their hashes, Maildir, language and
/// switch, aliases, the destination table, roles, the policy audit) goes in one transaction: a failure
/// leaves the target as it was. The logs follow in committed batches of <see cref="BatchRows"/> rows; a
/// failure there says which table stopped after how many rows (<see cref="StoreCopyIncompleteException"/>).
/// The target must hold no row in any copied table: a copy never merges two stores.
/// </para>
/// The source is read in one read transaction (one state, even if something writes meanwhile); the SQL
/// is portable (<c>@name</c> parameters, columns named as the source returns them), so the target may be
/// either backend. Surrogate ids (<c>delivery_log.id</c>, <c>policy_audit.id</c>) are left to the target,
/// which numbers the rows in the source's order, so its own sequence continues after them.
/// </summary>
public static class StoreCopy
{
    /// <summary>A table copied: its name, the order its rows are read and written in, and the columns the target numbers itself.</summary>
    public sealed record Table(string Name, string OrderBy, params string[] TargetAssigned);

    /// <summary>Copied in one transaction, parents before the rows that reference them (mailboxes and aliases name a domain).</summary>
    public static readonly IReadOnlyList<Table> Configuration =
    [
        new("domains", "name"),
        new("mailboxes", "address"),
        new("aliases", "address, target"),
        new("tls_destinations", "domain"),
        new("system_admins", "address"),
        new("domain_admins", "domain, address"),
        new("policy_audit", "id", "id"),
    ];

    /// <summary>Copied in committed batches after the configuration.</summary>
    public static readonly IReadOnlyList<Table> Logs =
    [
        new("delivery_log", "id", "id"),
        new("inbound_sessions", "started_at, id"),
        new("inbound_recipients", "session_id, at"),
        // TLS reporting: the sessions counted for the reports still to send, which reports went out (so the
        // cluster does not send one again), and the reports received for the hosted domains.
        new("tls_sessions", "day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, receiving_mx, receiving_ip"),
        new("report_sends", "kind, domain, day"),
        new("tls_reports_received", "id", "id"),
    ];

    /// <summary>The tables left out on purpose, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotCopied = new Dictionary<string, string>
    {
        ["dashboard_sessions"] = "dashboard logins are bound to the single box's own data-protection keys, which the cluster does not share: users log in again",
        ["dashboard_keys"] = "the cluster's dashboard keys are its own (the key file every node shares), not the single box's",
        ["nodes"] = "each node registers itself when it starts",
        ["node_queue"] = "each node publishes the summary of its own local queue",
        ["login_failures"] = "the login throttle's recent failures: minutes old, they start afresh",
        ["login_known_good"] = "the login throttle's known-good pairs: learnt again at the next successful login",
        ["dkim_keys"] = "the single box's DKIM private keys are files in its DIR/dkim, which the cluster cannot read: make the cluster's keys with `dkim add` and publish their records",
        ["dkim_private_keys"] = "empty on a single box (its DKIM private keys are files); see dkim_keys",
        ["mta_sts_policies"] = "a cache of recipient domains' MTA-STS policies: fetched again at the next delivery to each domain",
    };

    /// <summary>Rows per committed batch of the logs.</summary>
    public const int BatchRows = 1000;

    /// <summary>The copied tables of the target that already hold rows, with their counts (empty: the target may receive the copy).</summary>
    public static IReadOnlyList<(string Table, long Rows)> OccupiedTables(StoreConnection target) =>
        Configuration.Concat(Logs)
            .Select(t => (t.Name, Rows: Convert.ToInt64(target.Scalar($"SELECT COUNT(*) FROM {t.Name}"), CultureInfo.InvariantCulture)))
            .Where(t => t.Rows > 0)
            .ToList();

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="target"/> (both migrated to this program's schema).
    /// <paramref name="copied"/> hears each table's count once it is committed. Returns the counts per table,
    /// in copy order. Throws <see cref="StoreException"/> when the target is not empty (nothing written),
    /// <see cref="StoreCopyIncompleteException"/> when a log table failed after the configuration was committed.
    /// A failure in the configuration rolls it back and is thrown as it came.
    /// </summary>
    public static IReadOnlyList<(string Table, long Rows)> Run(StoreConnection source, StoreConnection target, Action<string, long>? copied = null)
    {
        var counts = new List<(string Table, long Rows)>();
        source.BeginRead();

        target.BeginWrite();
        var occupied = OccupiedTables(target);
        if (occupied.Count > 0)
            throw new StoreException("the target store is not empty (" + string.Join(", ", occupied.Select(o => $"{o.Table}: {o.Rows}"))
                + "); store copy copies into an empty database only and never merges two stores: create a new database and copy into that");
        var configurationCounts = Configuration.Select(t => (t.Name, Copy(source, target, t, commitEvery: 0))).ToList();
        target.Commit();
        foreach (var (table, rows) in configurationCounts)
        {
            counts.Add((table, rows));
            copied?.Invoke(table, rows);
        }

        foreach (var table in Logs)
        {
            long done = 0;
            try
            {
                target.BeginUnlocked();
                done = Copy(source, target, table, BatchRows, progress: n => done = n);
                target.Commit();
            }
            catch (DbException ex)
            {
                var total = Convert.ToInt64(source.Scalar($"SELECT COUNT(*) FROM {table.Name}"), CultureInfo.InvariantCulture);
                throw new StoreCopyIncompleteException(counts, table.Name, done, total, ex);
            }
            counts.Add((table.Name, done));
            copied?.Invoke(table.Name, done);
        }
        source.Commit();
        return counts;
    }

    /// <summary>
    /// Copies one table's rows in the source's order; with <paramref name="commitEvery"/> &gt; 0 the target's
    /// transaction is committed (and <paramref name="progress"/> told the rows committed) every that many rows
    /// and a log batch's transaction begun again (<see cref="StoreConnection.BeginUnlocked"/>, as the log writers do).
    /// Returns the rows written (the last ones committed by the caller).
    /// </summary>
    private static long Copy(StoreConnection source, StoreConnection target, Table table, int commitEvery, Action<long>? progress = null)
    {
        using var read = source.Command($"SELECT * FROM {table.Name} ORDER BY {table.OrderBy}");
        using var rows = read.ExecuteReader();
        var columns = Enumerable.Range(0, rows.FieldCount)
            .Select(i => (Index: i, Name: rows.GetName(i)))
            .Where(c => !table.TargetAssigned.Contains(c.Name, StringComparer.Ordinal))
            .ToArray();
        var insertInto = $"INSERT INTO {table.Name}({string.Join(", ", columns.Select(c => c.Name))})";
        var pending = new List<object?[]>(StoreConnection.RowsPerInsert);
        long written = 0;
        while (rows.Read())
        {
            pending.Add(columns.Select(c => rows.IsDBNull(c.Index) ? null : rows.GetValue(c.Index)).ToArray());
            written++;
            bool commitNow = commitEvery > 0 && written % commitEvery == 0;
            if (pending.Count == StoreConnection.RowsPerInsert || commitNow)
            {
                target.InsertRows(insertInto, pending);
                pending.Clear();
            }
            if (commitNow)
            {
                target.Commit();
                progress?.Invoke(written);
                target.BeginUnlocked();
            }
        }
        target.InsertRows(insertInto, pending);
        return written;
    }
}
