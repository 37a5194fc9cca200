namespace SecureMx.Store;

/// <summary>
/// The daily reports SecureMx sends — a TLS report to a recipient domain (kind "tlsrpt"), the refused-mail
/// digest to a hosted domain's admins (kind "refused-digest") — go out once per kind, domain and day, from
/// one node of a shared store: a node claims the row before it builds the report and marks it sent just before
/// the report mail is spooled (undone with <see cref="UndoSent"/> when the spool refuses it: a process that dies
/// in between loses that report rather than send it twice), or once the report is posted. A claim that was never completed (the node died) may be taken over after
/// <see cref="StaleClaim"/>. Times are Unix milliseconds; day is 00:00 UTC of the day reported on.
/// </summary>
public sealed class ReportSendRepository(StoreDatabase db)
{
    /// <summary>How long an unfinished claim holds before another node may take it over.</summary>
    public static readonly TimeSpan StaleClaim = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Claims the report of <paramref name="kind"/> for <paramref name="domain"/> and <paramref name="day"/> for
    /// <paramref name="node"/>: true for exactly one caller, unless the report was sent already, or another claim
    /// is younger than <see cref="StaleClaim"/>. Conditional upsert, the same on SQLite and PostgreSQL.
    /// </summary>
    public bool TryClaim(string kind, string domain, DateTimeOffset day, string node, DateTimeOffset now) => db.Execute("""
        INSERT INTO report_sends(kind, domain, day, node, claimed_at) VALUES(@k, @d, @day, @n, @now)
        ON CONFLICT(kind, domain, day) DO UPDATE SET node=excluded.node, claimed_at=excluded.claimed_at, result=NULL
        WHERE report_sends.sent_at IS NULL AND report_sends.claimed_at < @stale
        """, ("@k", kind), ("@d", domain), ("@day", day.ToUnixTimeMilliseconds()), ("@n", node), ("@now", now.ToUnixTimeMilliseconds()),
        ("@stale", (now - StaleClaim).ToUnixTimeMilliseconds())) > 0;

    /// <summary>The claimed report went out (spooled or posted): never again for this kind, domain and day. <paramref name="result"/>: what was done, in words.</summary>
    public void MarkSent(string kind, string domain, DateTimeOffset day, DateTimeOffset now, string result) => db.Execute(
        "UPDATE report_sends SET sent_at=@now, result=@r WHERE kind=@k AND domain=@d AND day=@day",
        ("@k", kind), ("@d", domain), ("@day", day.ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds()), ("@r", result));

    /// <summary>
    /// The claimed report could not go out (an HTTPS endpoint down, the spool full): the claim is released at
    /// once so that a later run tries again; <paramref name="result"/> says why.
    /// </summary>
    public void Release(string kind, string domain, DateTimeOffset day, string result) => db.Execute(
        "UPDATE report_sends SET claimed_at=0, result=@r WHERE kind=@k AND domain=@d AND day=@day AND sent_at IS NULL",
        ("@k", kind), ("@d", domain), ("@day", day.ToUnixTimeMilliseconds()), ("@r", result));

    /// <summary>
    /// The report marked sent before it was spooled could not be spooled after all: not sent, and the claim released
    /// at once so that a later run (any node) tries again; <paramref name="result"/> says why.
    /// </summary>
    public void UndoSent(string kind, string domain, DateTimeOffset day, string result) => db.Execute(
        "UPDATE report_sends SET sent_at=NULL, claimed_at=0, result=@r WHERE kind=@k AND domain=@d AND day=@day",
        ("@k", kind), ("@d", domain), ("@day", day.ToUnixTimeMilliseconds()), ("@r", result));

    /// <summary>The sends of <paramref name="kind"/> from <paramref name="since"/> on, newest first (the CLI, the tests).</summary>
    public List<ReportSend> Since(string kind, DateTimeOffset since) => db.Rows(
        "SELECT kind, domain, day, node, claimed_at, sent_at, result FROM report_sends WHERE kind=@k AND day >= @since ORDER BY day DESC, domain",
        r => new ReportSend(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
            r.IsDBNull(6) ? null : r.GetString(6)),
        ("@k", kind), ("@since", since.ToUnixTimeMilliseconds()));
}
