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
    /// The addresses of one MX host to try, in order: as resolved (IPv6 first) when both or neither family
    /// has a source. When only one family has a source, the operator pinned it — that is the address whose
    /// PTR and SPF they set up — so a host with an address of that family is tried on that family only
    /// (mail leaving from an address the receiver does not know could earn a permanent "no PTR" refusal
    /// after the pinned family merely timed out); the other family is used only for a host that has none
    /// of the pinned one (an AAAA-only MX with an IPv4 source).
    /// </summary>
    public IReadOnlyList<IPAddress> ToTry(IReadOnlyList<IPAddress> addresses)
    {
        if ((V4 is null) == (V6 is null)) return addresses;
        var pinned = V4 is not null ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        var ofPinned = addresses.Where(a => a.AddressFamily == pinned).ToList();
        return ofPinned.Count > 0 ? ofPinned : addresses;
    }
}
