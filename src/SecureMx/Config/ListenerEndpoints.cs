using System.Net;
using System.Net.Sockets;

namespace SecureMx.Config;

/// <summary>
/// The listeners' endpoints together. A listener on <c>[::]</c> is dual-stack (it takes IPv4 clients too,
/// as ::ffff:a.b.c.d), so an IPv4 listener on the same port next to it cannot bind (EADDRINUSE): that pair
/// is a configuration error with its reason rather than a failed start. For IPv6 only, give the IPv6
/// address(es) the listener should take instead of <c>[::]</c>.
/// </summary>
public static class ListenerEndpoints
{
    public static IReadOnlyList<(string Key, string Value)> All(ListenerOptions l) =>
    [
        ("listeners.mx", l.Mx), ("listeners.secureMx", l.SecureMx), ("listeners.submission", l.Submission),
        ("listeners.submissions", l.Submissions), ("listeners.dashboard", l.Dashboard), ("listeners.dovecotPolicy", l.DovecotPolicy),
        ("listeners.metrics", l.Metrics), ("listeners.mtaSts", l.MtaSts),
    ];

    public static IEnumerable<string> DualStackConflicts(ListenerOptions l)
    {
        var parsed = All(l).Select(x => (x.Key, x.Value, Ep: Endpoint.TryParseQuiet(x.Value))).Where(x => x.Ep is not null).ToList();
        foreach (var dual in parsed.Where(x => x.Ep!.Address.Equals(IPAddress.IPv6Any)))
        {
            foreach (var v4 in parsed.Where(x => x.Ep!.Port == dual.Ep!.Port && x.Ep.AddressFamily == AddressFamily.InterNetwork))
            {
                yield return $"{dual.Key}: {dual.Value} is dual-stack and takes IPv4 on port {dual.Ep!.Port} too, so {v4.Key} ({v4.Value}) cannot listen next to it; " +
                    $"drop {v4.Key}'s endpoint, or give {dual.Key} a specific IPv6 address";
            }
        }
    }
}
