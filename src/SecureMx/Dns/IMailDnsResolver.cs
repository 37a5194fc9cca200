using System.Net;

namespace SecureMx.Dns;

/// <summary>
/// The DNS questions outbound delivery asks (RFC 5321 §5.1, RFC 7505, RFC 7672 §2.2). Implemented by
/// <see cref="MailDnsResolver"/>; delivery code depends on this interface so that its unit tests can
/// answer with fixed data.
/// </summary>
public interface IMailDnsResolver
{
    /// <summary>MX of a mail domain (ASCII/A-labels): hosts in the order to try, implicit MX, null MX, NXDOMAIN or a temporary failure.</summary>
    Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>A and AAAA of a host (both families are always queried).</summary>
    Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default);

    /// <summary>TLSA of "_PORT._tcp.HOST" (RFC 6698 §3, RFC 7672 §2.2.3).</summary>
    Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default);

    /// <summary>TXT of a name, e.g. "_mta-sts.DOMAIN" (RFC 8461 §3.1).</summary>
    Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// The forward-confirmed reverse name of an address (PTR, RFC 1035 §3.5; then A/AAAA of the name must
    /// contain the address), or null when there is none, it is not confirmed, or a lookup failed. The
    /// refused-mail report names sending hosts by it. A resolver that does not answer it (test fakes) knows none.
    /// </summary>
    Task<string?> ResolveReverseNameAsync(IPAddress address, CancellationToken cancellationToken = default) => Task.FromResult<string?>(null);
}
