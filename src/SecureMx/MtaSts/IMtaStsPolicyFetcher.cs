namespace SecureMx.MtaSts;

/// <summary>
/// The two network steps of MTA-STS policy discovery (RFC 8461 §3): the "_mta-sts" TXT record, and
/// the policy over HTTPS. <see cref="MtaStsPolicyFetcher"/> does them for real; the cache's tests
/// answer with fixed data. Neither throws for a network failure (only for the caller's cancellation).
/// </summary>
public interface IMtaStsPolicyFetcher
{
    /// <summary>The "_mta-sts.DOMAIN" TXT lookup and its one valid record, if any.</summary>
    Task<MtaStsDiscovery> DiscoverAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt, validated (RFC 8461 §3.3).</summary>
    Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken = default);
}
