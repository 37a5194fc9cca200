namespace SecureMx.Store;

/// <summary>
/// The refused-mail report of inbound mandatory TLS: the RCPTs the session log recorded as refused
/// with refusal 'mandatory_tls', per recipient domain (or all), and each hosted domain's switch for
/// the daily digest of them (domains.refused_digest). Reads the session log as written: a session
/// still open, or not yet written behind, is not listed.
/// </summary>
public sealed class RefusedAttemptRepository(StoreDatabase db)
{
    /// <summary>The refusal word the SMTP session logs for inbound mandatory TLS (RcptDecision.Refusal).</summary>
    public const string MandatoryTls = "mandatory_tls";

    private const string Where = """
        r.refusal = @refusal AND r.at >= @since AND r.at < @until
          AND (CAST(@d AS TEXT) IS NULL OR r.recipient_domain = @d)
        """;

    /// <summary>
    /// Refused attempts at <paramref name="domain"/> (null: every domain) in [<paramref name="since"/>,
    /// <paramref name="until"/>), newest first, at most <paramref name="limit"/>.
    /// </summary>
    public List<RefusedAttempt> Attempts(string? domain, DateTimeOffset since, DateTimeOffset? until = null, int limit = 1000) => db.Rows($"""
        SELECT r.at, s.node, s.client_ip, s.helo, s.reverse_name, r.mail_from, COALESCE(r.recipient, r.recipient_domain), r.tls_protocol, r.tls_cipher, r.reply
        FROM inbound_recipients r JOIN inbound_sessions s ON s.id = r.session_id
        WHERE {Where}
        ORDER BY r.at DESC, r.session_id DESC
        LIMIT @limit
        """, r => new RefusedAttempt(r.Time(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.NullableString(4), r.NullableString(5),
            r.GetString(6), r.NullableString(7), r.NullableString(8), r.GetString(9)),
        Parameters(domain, since, until, ("@limit", Math.Max(0, limit))));

    /// <summary>Sending hosts counted at most (a client rotating through an IPv6 /64 must not make a page, a listing or a mail of any size).</summary>
    public const int MaxHosts = 200;

    /// <summary>
    /// The refused attempts of the same window counted per sending host (all of them, not only the listed), most first,
    /// at most <paramref name="limit"/> hosts; <see cref="Totals"/> says how many there are in all.
    /// </summary>
    public List<RefusedSendingHost> CountsPerHost(string? domain, DateTimeOffset since, DateTimeOffset? until = null, int limit = MaxHosts) => db.Rows($"""
        SELECT s.client_ip, MAX(s.helo), MAX(s.reverse_name), COUNT(*), MAX(r.at)
        FROM inbound_recipients r JOIN inbound_sessions s ON s.id = r.session_id
        WHERE {Where}
        GROUP BY s.client_ip
        ORDER BY COUNT(*) DESC, s.client_ip
        LIMIT @limit
        """, r => new RefusedSendingHost(r.GetString(0), r.NullableString(1), r.NullableString(2), r.GetInt64(3), r.Time(4)),
        Parameters(domain, since, until, ("@limit", Math.Max(0, limit))));

    /// <summary>All refused attempts of the window and the distinct sending hosts they came from (not capped).</summary>
    public RefusedTotals Totals(string? domain, DateTimeOffset since, DateTimeOffset? until = null) => db.Rows($"""
        SELECT COUNT(DISTINCT s.client_ip), COUNT(*)
        FROM inbound_recipients r JOIN inbound_sessions s ON s.id = r.session_id
        WHERE {Where}
        """, r => new RefusedTotals(r.GetInt64(0), r.GetInt64(1)), Parameters(domain, since, until)).Single();

    /// <summary>The hosted domains whose digest switch is on and that had refused attempts in [since, until).</summary>
    public List<string> DigestDomainsWithRefusals(DateTimeOffset since, DateTimeOffset until) => db.Rows("""
        SELECT d.name FROM domains d
        WHERE d.refused_digest = 1 AND EXISTS (
          SELECT 1 FROM inbound_recipients r
          WHERE r.recipient_domain = d.name AND r.refusal = @refusal AND r.at >= @since AND r.at < @until)
        ORDER BY d.name
        """, r => r.GetString(0), ("@refusal", MandatoryTls), ("@since", since.ToUnixTimeMilliseconds()), ("@until", until.ToUnixTimeMilliseconds()));

    /// <summary>Whether the daily digest of <paramref name="domain"/> is on (false for a domain not hosted).</summary>
    public bool DigestOn(string domain) =>
        db.Scalar("SELECT refused_digest FROM domains WHERE name=@d", ("@d", domain)) is { } v && Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture) == 1;

    /// <summary>Turns the daily digest of a hosted domain on or off; false when the domain is not hosted.</summary>
    public bool SetDigest(string domain, bool on) =>
        db.Execute("UPDATE domains SET refused_digest=@on WHERE name=@d", ("@d", domain), ("@on", on ? 1 : 0)) > 0;

    private static (string Name, object? Value)[] Parameters(string? domain, DateTimeOffset since, DateTimeOffset? until, params (string, object?)[] more) =>
    [
        ("@refusal", MandatoryTls), ("@d", domain?.ToLowerInvariant()), ("@since", since.ToUnixTimeMilliseconds()),
        ("@until", (until ?? DateTimeOffset.MaxValue).ToUnixTimeMilliseconds()), .. more,
    ];
}
