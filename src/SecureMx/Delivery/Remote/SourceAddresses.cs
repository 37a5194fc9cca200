using System.Net;
using System.Net.Sockets;
using SecureMx.Config;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// The local address of outgoing SMTP connections, per address family: <c>delivery.sourceAddress</c>
/// (IPv4 or IPv6, as before) and <c>delivery.sourceAddress6</c> (IPv6). A connection to an address of a
/// family without a configured source lets the system choose: a source of one family never keeps mail
/// from an MX host that has only addresses of the other (an AAAA-only host with an IPv4 source).
/// </summary>
public sealed record SourceAddresses(IPAddress? V4, IPAddress? V6)
{
    public static readonly SourceAddresses None = new(null, null);

    /// <summary>From validated options (<see cref="ConfigLoader.Validate"/> checks the families).</summary>
    public static SourceAddresses From(DeliveryOptions delivery)
    {
        var any = delivery.SourceAddress.Length > 0 ? IPAddress.Parse(delivery.SourceAddress) : null;
        var v6 = delivery.SourceAddress6.Length > 0 ? IPAddress.Parse(delivery.SourceAddress6) : null;
        return new SourceAddresses(
            any?.AddressFamily == AddressFamily.InterNetwork ? any : null,
            v6 ?? (any?.AddressFamily == AddressFamily.InterNetworkV6 ? any : null));
    }

    /// <summary>The address to bind before connecting to <paramref name="destination"/>; null: the system chooses.</summary>
    public IPAddress? For(IPAddress destination) =>
        destination.AddressFamily == AddressFamily.InterNetworkV6 ? V6 : V4;

    /// <summary>
    /// The order to try a host's addresses in: as resolved (IPv6 first) when both or neither family has a
    /// source, else the family with a configured source first — the operator pinned it, and that is the
    /// address whose PTR and SPF they set up — then the other as a fallback.
    /// </summary>
    public IReadOnlyList<IPAddress> Order(IReadOnlyList<IPAddress> addresses)
    {
        if ((V4 is null) == (V6 is null)) return addresses;
        var pinned = V4 is not null ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        return [.. addresses.Where(a => a.AddressFamily == pinned), .. addresses.Where(a => a.AddressFamily != pinned)];
    }
}
