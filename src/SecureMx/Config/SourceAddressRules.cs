using System.Net;
using System.Net.Sockets;

namespace SecureMx.Config;

/// <summary>
/// Checks <c>delivery.sourceAddress</c> (IPv4 or IPv6) and <c>delivery.sourceAddress6</c> (IPv6 only):
/// at most one IPv6 source, so that which one is bound is never a guess.
/// </summary>
public static class SourceAddressRules
{
    public static IEnumerable<string> Check(DeliveryOptions d)
    {
        IPAddress? any = null;
        if (d.SourceAddress.Length > 0 && !IPAddress.TryParse(d.SourceAddress, out any))
            yield return $"delivery.sourceAddress: '{d.SourceAddress}' is not an IP address";
        if (d.SourceAddress6.Length == 0) yield break;
        if (!IPAddress.TryParse(d.SourceAddress6, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || v6.IsIPv4MappedToIPv6)
            yield return $"delivery.sourceAddress6: '{d.SourceAddress6}' is not an IPv6 address";
        else if (any?.AddressFamily == AddressFamily.InterNetworkV6)
            yield return $"delivery.sourceAddress6: delivery.sourceAddress is an IPv6 address already ({d.SourceAddress}); give the IPv4 source there and the IPv6 one here";
    }
}
