using System.Globalization;
using SecureMx.Mail;

namespace SecureMx.Store;

/// <summary>Accepted inbound recipients of one domain from one sending host with one TLS state.</summary>
public sealed record InboundReadinessGroup(string ClientIp, string? Helo, string? MailFromDomain, string? TlsProtocol, string? TlsCipher,
    long Recipients, long Sessions, DateTimeOffset LastSeen);

/// <summary>
/// Remote delivery attempts to one MX host of one recipient domain with one TLS state. Recipients
/// counts (message, recipient) pairs: a retried recipient is one recipient, and several attempts.
/// Plaintext after a failed STARTTLS is a TLS state of its own (the host offered TLS):
/// <see cref="TlsFailure"/> is then the latest reason, else null.
/// </summary>
public sealed record OutboundReadinessGroup(string RecipientDomain, string MxHost, string? TlsProtocol, string? TlsCipher,
    long Attempts, long Recipients, long DeliveredAttempts, DateTimeOffset LastSeen, string? TlsFailure = null);

/// <summary>
/// The groups of a sender scope, and over the whole scope: how many (message, recipient) pairs were
/// tried remotely, and how many of them had at least one attempt with secure TLS — those would have
/// been delivered under mandatory TLS too, since every MX host is tried in turn.
/// </summary>
public sealed record OutboundReadinessData(IReadOnlyList<OutboundReadinessGroup> Groups, long Recipients, long SecureRecipients);

/// <summary>
/// The readiness preview's queries over the session log and the delivery log: who would have been
/// refused, or not reached, had mandatory TLS been on.
/// </summary>
public sealed class ReadinessQueries(StoreDatabase db, DeliveryLogRepository deliveryLog)
{
    // Submission sessions are clients who logged in, not senders to the domain's MX; they use the
    // strict profile anyway, so counting them would only make the secure share look better than the
    // share the switch is about. The secure MX listener ("secureMx") counts: it is an MX.
    private const string MxListenersOnly = "s.listener NOT IN ('submission', 'submissions')";

    /// <summary>
    /// Accepted recipients for <paramref name="domain"/> since <paramref name="since"/>, grouped by
    /// sending host, envelope sender domain and TLS. Reads the session log as written: sessions still
    /// open or not yet written by <see cref="SessionLogRepository"/> are not counted.
    /// </summary>
    public List<InboundReadinessGroup> InboundReadinessGroups(string domain, DateTimeOffset since) =>
        db.Rows($"""
            SELECT s.client_ip, s.helo, r.mail_from_domain, r.tls_protocol, r.tls_cipher,
                   COUNT(*), COUNT(DISTINCT r.session_id), MAX(r.at)
            FROM inbound_recipients r JOIN inbound_sessions s ON s.id = r.session_id
            WHERE r.recipient_domain = @d AND r.at >= @since AND r.accepted = 1 AND {MxListenersOnly}
            GROUP BY s.client_ip, s.helo, r.mail_from_domain, r.tls_protocol, r.tls_cipher
            """, r => new InboundReadinessGroup(r.GetString(0), r.NullableString(1), r.NullableString(2), r.NullableString(3), r.NullableString(4),
                r.GetInt64(5), r.GetInt64(6), r.Time(7)),
            ("@d", domain.ToLowerInvariant()), ("@since", since.ToUnixTimeMilliseconds()));

    /// <summary>
    /// Remote delivery attempts since <paramref name="since"/> of mail from a sender domain, or from
    /// one account when <paramref name="domainOrAddress"/> contains '@'. The scope follows
    /// OutboundTlsPolicy: a domain's switch applies to mail whose envelope sender or login is in the
    /// domain; an account's switch to mail it submitted after login, and to mail without login whose
    /// sender is the account or one of its subaddresses (<paramref name="recipientDelimiter"/>).
    /// Local deliveries (mx_host 'local') and attempts that reached no host (mx_host NULL: DNS or
    /// connection failures, which say nothing about TLS) are left out.
    /// </summary>
    public OutboundReadinessData OutboundReadiness(string domainOrAddress, string recipientDelimiter, DateTimeOffset since)
    {
        deliveryLog.Flush();
        using var c = db.Connect();
        c.BeginRead(); // both queries see the same rows
        var scope = OutboundScope(domainOrAddress, recipientDelimiter, out var parameters);
        parameters.Add(("@since", since.ToUnixTimeMilliseconds()));
        var where = $"at >= @since AND mx_host <> 'local' AND {scope}";

        // The domain after the last '@' (rtrim strips every character but '@' from the right; both
        // backends have it), '|' as a separator (no protocol or cipher name has one), and the latest
        // STARTTLS failure as the maximum of its time (zero-padded) and its text, the time cut off again.
        var groups = c.Rows($"""
            SELECT lower(substr(recipient, length(rtrim(recipient, replace(recipient, '@', ''))) + 1)) AS rdomain,
                   mx_host, tls_protocol, tls_cipher,
                   COUNT(*), COUNT(DISTINCT message_id || '|' || recipient), SUM(CASE WHEN result = 'delivered' THEN 1 ELSE 0 END), MAX(at),
                   substr(MAX(CASE WHEN tls_failure IS NOT NULL THEN {db.Dialect.ZeroPadded("at", 15)} || tls_failure END), 16)
            FROM delivery_log
            WHERE {where}
            GROUP BY rdomain, mx_host, tls_protocol, tls_cipher, tls_failure IS NOT NULL
            """, r => new OutboundReadinessGroup(r.GetString(0), r.GetString(1), r.NullableString(2), r.NullableString(3), r.GetInt64(4), r.GetInt64(5),
                r.GetInt64(6), r.Time(7), r.NullableString(8)), parameters.ToArray());

        // The secure (protocol, cipher) pairs among the groups decide, per recipient, whether any attempt would have passed.
        var secure = groups.Where(g => TlsGrading.Of(g.TlsProtocol, g.TlsCipher) == TlsGrade.Secure)
            .Select(g => g.TlsProtocol + "|" + g.TlsCipher).Distinct().ToList();
        var keys = secure.Select((_, i) => "@k" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        parameters.AddRange(keys.Zip(secure, (k, v) => (k, (object?)v)));
        var isSecure = keys.Count == 0 ? "1 = 0" : $"tls_protocol || '|' || tls_cipher IN ({string.Join(", ", keys)})";
        var totals = c.Rows($"""
            SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM (
              SELECT MAX(CASE WHEN {isSecure} THEN 1 ELSE 0 END) AS ok
              FROM delivery_log WHERE {where}
              GROUP BY message_id, recipient) AS per_recipient
            """, r => (Recipients: r.GetInt64(0), Secure: r.GetInt64(1)), parameters.ToArray()).Single();
        return new OutboundReadinessData(groups, totals.Recipients, totals.Secure);
    }

    private string OutboundScope(string domainOrAddress, string recipientDelimiter, out List<(string Name, object? Value)> parameters)
    {
        int at = domainOrAddress.LastIndexOf('@');
        if (at < 0)
        {
            // Without case, as domains compare; the domain's own % and _ are escaped.
            parameters = [("@domain", "%@" + StoreDatabase.EscapeLike(domainOrAddress.ToLowerInvariant()))];
            var like = db.Dialect.LikeIgnoringCase;
            return $@"(sender {like} @domain ESCAPE '\' OR account {like} @domain ESCAPE '\')";
        }
        var local = domainOrAddress[..at];
        var domain = domainOrAddress[(at + 1)..];
        object? tagged = recipientDelimiter.Length == 0 ? null : StoreDatabase.EscapeLike(local + recipientDelimiter) + "%@" + StoreDatabase.EscapeLike(domain);
        parameters = [("@address", domainOrAddress), ("@tagged", tagged)];
        // Mailbox addresses are looked up with the local part lower-cased (EnvelopeAddress.LookupKey).
        var d = db.Dialect;
        return $@"({d.EqualsIgnoringCase("account", "@address")} OR (account IS NULL AND ({d.EqualsIgnoringCase("sender", "@address")} OR sender {d.LikeIgnoringCase} @tagged ESCAPE '\')))";
    }
}
