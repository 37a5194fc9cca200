using System.Net;
using SecureMx.Mail;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Where the last delivery to a destination went (MX host, address, TLS requirement), remembered for a
/// minute: the next message to the same destination under the same policy takes an idle connection
/// there (<see cref="SmtpConnectionCache"/>) without looking up the host's addresses and TLSA records
/// again — Postfix reuses a session by next-hop domain in the same way. The MX records (kept by the resolver
/// for their TTL, at most a minute: Dns/MxAnswerCache) and the MTA-STS policy are still asked for every message, and they are part of the key: a route serves only the same
/// domain, TLS level, DANE switch, REQUIRETLS rule and MTA-STS policy (id and mode) it was found under,
/// and only while its host is still one of the domain's MX hosts. Whatever opens a new connection goes
/// the full way (DNS, every host in order), so a route is never older than a minute.
/// </summary>
public sealed class DestinationRoutes(TimeProvider time)
{
    /// <summary>How long a route is used before the full way is taken again.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    public sealed record Route(string Host, IPAddress Address, HostTlsRequirement Requirement, DateTimeOffset Until) : IExpiring;

    private readonly ExpiringEntries<Route> _routes = new(time, StringComparer.Ordinal);

    /// <summary>The route remembered under <paramref name="key"/>, unless it has expired.</summary>
    public Route? Find(string key) => _routes.Find(key);

    /// <summary>Remembers where a delivery under <paramref name="key"/> was taken, for <see cref="Lifetime"/>.</summary>
    public void Remember(string key, string host, IPAddress address, HostTlsRequirement requirement)
    {
        // A route found the full way starts its minute now; one that is still valid keeps its end (never extended by reuse alone).
        if (_routes.Find(key) is { } known && known.Host == host && known.Address.Equals(address) && known.Requirement == requirement) return;
        _routes.Set(key, new Route(host, address, requirement, time.GetUtcNow() + Lifetime));
    }

    /// <summary>Forgets a route whose connection failed: the next message goes the full way.</summary>
    public void Forget(string key) => _routes.Remove(key);
}
