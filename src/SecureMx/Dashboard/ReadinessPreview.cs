using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>A sending host whose mail for the domain would be refused under inbound mandatory TLS.</summary>
public sealed record RefusedSender(string ClientIp, string? Helo, IReadOnlyList<string?> SenderDomains, TlsGrade Grade, string? TlsProtocol, string? TlsCipher,
    long Recipients, long Sessions, DateTimeOffset LastSeen);

/// <summary>
/// Inbound readiness of a domain: of <see cref="Total"/> accepted recipients, <see cref="Secure"/>
/// came with secure TLS; the others came from <see cref="Refused"/> (the first rows, most recipients
/// first) and <see cref="MoreRefused"/> further senders.
/// </summary>
public sealed record InboundReadiness(string Domain, DateTimeOffset Since, long Total, long Secure, IReadOnlyList<RefusedSender> Refused, int MoreRefused)
{
    public long WouldBeRefused => Total - Secure;
}

/// <summary>
/// An MX host of a recipient domain that would not get mail under outbound mandatory TLS. With
/// <see cref="TlsFailure"/> it offered STARTTLS but the handshake failed (the mail went in plaintext):
/// a broken TLS setup to report to its operator, not a server without TLS.
/// </summary>
public sealed record FailingDestination(string Domain, string MxHost, TlsGrade Grade, string? TlsProtocol, string? TlsCipher,
    long Recipients, long Attempts, DateTimeOffset LastSeen, string? TlsFailure = null);

/// <summary>
/// Outbound readiness of a sender domain or account: of <see cref="Total"/> recipients of remote
/// deliveries, <see cref="Secure"/> had an MX host with secure TLS (they would have been delivered);
/// <see cref="Failing"/> lists the hosts without it.
/// </summary>
public sealed record OutboundReadiness(string Scope, DateTimeOffset Since, long Total, long Secure, IReadOnlyList<FailingDestination> Failing, int MoreFailing)
{
    public long WouldFail => Total - Secure;
}

/// <summary>
/// The readiness preview: from the last 30 days of the session and delivery logs,
/// who would have been refused had mandatory TLS been on — shown before the switch is flipped.
/// </summary>
public sealed class ReadinessPreview(ReadinessQueries queries, SecureMxOptions options, TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(30);

    /// <summary>Rows shown per table; the rest is counted ("and N more").</summary>
    public const int MaxRows = 50;

    /// <summary>
    /// The summary's colour (dashboard.css): nothing seen "off"; nobody refused "ok"; a few (at most
    /// one in ten) "warn"; more "bad" — then switching on would visibly cost mail.
    /// </summary>
    public static string StatusOf(long total, long secure) =>
        total == 0 ? "off" : secure >= total ? "ok" : (total - secure) * 10 <= total ? "warn" : "bad";

    /// <summary>Times as the dashboard shows them, the same in both languages.</summary>
    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    public InboundReadiness Inbound(string domain)
    {
        var since = time.GetUtcNow() - Window;
        var groups = queries.InboundReadinessGroups(domain, since);
        long total = groups.Sum(g => g.Recipients);
        long secure = groups.Where(g => TlsGrading.Of(g.TlsProtocol, g.TlsCipher) == TlsGrade.Secure).Sum(g => g.Recipients);
        // One row per host and TLS state, with the sender domains it carried: the host is what the
        // customer can ask to fix, the domains say whose mail it is.
        var refused = groups
            .Select(g => (Group: g, Grade: TlsGrading.Of(g.TlsProtocol, g.TlsCipher)))
            .Where(x => x.Grade != TlsGrade.Secure)
            .GroupBy(x => (x.Group.ClientIp, x.Group.Helo, x.Group.TlsProtocol, x.Group.TlsCipher))
            .Select(h => new RefusedSender(h.Key.ClientIp, h.Key.Helo,
                h.Select(x => x.Group.MailFromDomain).Distinct().Order(StringComparer.Ordinal).ToList(),
                h.First().Grade, h.Key.TlsProtocol, h.Key.TlsCipher,
                h.Sum(x => x.Group.Recipients), h.Sum(x => x.Group.Sessions), h.Max(x => x.Group.LastSeen)))
            .OrderByDescending(s => s.Recipients).ThenByDescending(s => s.LastSeen).ThenBy(s => s.ClientIp, StringComparer.Ordinal)
            .ToList();
        return new InboundReadiness(domain, since, total, secure, refused.Take(MaxRows).ToList(), Math.Max(0, refused.Count - MaxRows));
    }

    /// <summary>For a sender domain, or for one account when <paramref name="domainOrAddress"/> contains '@'.</summary>
    public OutboundReadiness Outbound(string domainOrAddress)
    {
        var since = time.GetUtcNow() - Window;
        var data = queries.OutboundReadiness(domainOrAddress, options.Delivery.RecipientDelimiter, since);
        var failing = data.Groups
            .Select(g => (Group: g, Grade: TlsGrading.Of(g.TlsProtocol, g.TlsCipher)))
            .Where(x => x.Grade != TlsGrade.Secure)
            .Select(x => new FailingDestination(x.Group.RecipientDomain, x.Group.MxHost, x.Grade, x.Group.TlsProtocol, x.Group.TlsCipher,
                x.Group.Recipients, x.Group.Attempts, x.Group.LastSeen, x.Group.TlsFailure))
            .OrderByDescending(f => f.Recipients).ThenByDescending(f => f.LastSeen).ThenBy(f => f.Domain, StringComparer.Ordinal).ThenBy(f => f.MxHost, StringComparer.Ordinal)
            .ToList();
        return new OutboundReadiness(domainOrAddress, since, data.Recipients, data.SecureRecipients, failing.Take(MaxRows).ToList(), Math.Max(0, failing.Count - MaxRows));
    }
}
