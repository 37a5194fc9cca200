using System.Net;

namespace SecureMx.Dns;

/// <summary>
/// Forward confirmation of reverse names (FCrDNS): a PTR name counts only when its own A/AAAA records
/// contain the address. Anybody who holds an address block can put any name in its PTR; the name's
/// owner confirms it with the forward record, as Postfix's "unknown" client name does.
/// </summary>
public static class ReverseNames
{
    /// <summary>
    /// The first of <paramref name="names"/> (at most <see cref="MailDnsResolver.MaxReverseNames"/>, lower
    /// case, without the final dot) whose addresses contain <paramref name="address"/>; null when none does.
    /// </summary>
    public static async Task<string?> FirstConfirmedAsync(IPAddress address, IEnumerable<string> names,
        Func<string, CancellationToken, Task<AddressResolution>> resolve, CancellationToken cancellationToken)
    {
        foreach (var name in names.Select(n => n.TrimEnd('.').ToLowerInvariant()).Where(n => n.Length > 0).Distinct().Take(MailDnsResolver.MaxReverseNames))
        {
            var forward = await resolve(name, cancellationToken).ConfigureAwait(false);
            if (forward.Addresses.Any(a => (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(address))) return name;
        }
        return null;
    }
}
