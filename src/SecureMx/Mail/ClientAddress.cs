using System.Net;
using System.Net.Sockets;

namespace SecureMx.Mail;

/// <summary>
/// The client address as the rest of SecureMx sees it, and the key its connections and failed logins
/// are counted under.
/// A dual-stack listener (<c>[::]</c>) receives IPv4 clients as IPv4-mapped IPv6 addresses
/// (<c>::ffff:192.0.2.1</c>, RFC 4291 §2.5.5.2): they are the IPv4 client, for the limits, the session
/// log and the Received header alike.
/// </summary>
public static class ClientAddress
{
    /// <summary>The prefix length IPv6 clients are counted under: one /64 is one subscriber's network.</summary>
    public const int Ipv6LimitPrefix = 64;

    /// <summary>An IPv4-mapped IPv6 address as the IPv4 address; any other address as it is.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>
    /// The key of the per-client connection limit: an IPv4 client's address; for an IPv6 client its /64.
    /// A host on an IPv6 network usually holds a whole /64 (RFC 6177; SLAAC and temporary "privacy"
    /// addresses pick any interface identifier in it), so counting per address would let one client open
    /// a connection from each of 2^64 addresses. A /64 is what one subscriber gets; larger prefixes
    /// (a /48 per site) would put unrelated hosts of a provider's network under one limit.
    /// </summary>
    /// <summary>
    /// <see cref="LimitKey(IPAddress)"/> of an address in text (as the login throttle keeps it); text that is
    /// not an address ("unknown") stays as it is.
    /// </summary>
    public static string LimitKey(string address) =>
        IPAddress.TryParse(address, out var ip) ? LimitKey(ip).ToString() : address;

    public static IPAddress LimitKey(IPAddress address)
    {
        var ip = Normalize(address);
        if (ip.AddressFamily != AddressFamily.InterNetworkV6) return ip;
        var bytes = ip.GetAddressBytes();
        Array.Clear(bytes, Ipv6LimitPrefix / 8, bytes.Length - Ipv6LimitPrefix / 8);
        return new IPAddress(bytes);
    }
}
