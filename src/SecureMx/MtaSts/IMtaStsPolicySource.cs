using SecureMx.Mail;

namespace SecureMx.MtaSts;

/// <summary>What delivery knows of a recipient domain's MTA-STS policy before it connects.</summary>
public enum MtaStsLookupKind
{
    /// <summary>The domain publishes no policy (no "_mta-sts" TXT record, and none cached): MTA-STS plays no part.</summary>
    NoPolicy,

    /// <summary>A valid policy (fresh, or cached and not expired while a refresh failed): <see cref="MtaStsLookup.Policy"/>.</summary>
    Policy,

    /// <summary>
    /// A TXT record announces a policy, but no valid one could be fetched and none is cached (RFC 8461
    /// §5: then delivery goes on as without MTA-STS; the failure is recorded for TLS reporting:
    /// sts-policy-fetch-error or sts-policy-invalid, RFC 8460 §4.3.2).
    /// </summary>
    Unavailable,
}

/// <summary>
/// The answer of <see cref="IMtaStsPolicySource"/>: the policy to apply, its id and expiry, where it
/// came from, and for <see cref="MtaStsLookupKind.Unavailable"/> (and a cached policy kept after a
/// failed refresh) what went wrong.
/// </summary>
public sealed record MtaStsLookup(MtaStsLookupKind Kind, MtaStsPolicy? Policy = null, string? PolicyId = null,
    DateTimeOffset? ExpiresAt = null, bool FromCache = false, string? Failure = null)
{
    public static readonly MtaStsLookup None = new(MtaStsLookupKind.NoPolicy);

    /// <summary>
    /// The RFC 8460 result type of <see cref="Failure"/> when it is a policy failure
    /// (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid: for TLS reporting); null otherwise.
    /// </summary>
    public TlsResultType? FailureType { get; init; }

    /// <summary>
    /// With <see cref="MtaStsLookupKind.Unavailable"/>: the store's policy cache could not be read, and
    /// no live policy was found, so a cached policy (an enforce one, perhaps) may exist that this
    /// lookup could not see. Delivery should defer rather than send as if the domain had no policy.
    /// </summary>
    public bool CacheUnreadable { get; init; }

    /// <summary>The policy's mode, <see cref="MtaStsMode.None"/> without a policy.</summary>
    public MtaStsMode Mode => Policy?.Mode ?? MtaStsMode.None;
}

/// <summary>
/// Where outbound delivery and `probe` get a recipient domain's MTA-STS policy (RFC 8461 §3, §5):
/// the cache in the store, refreshed over DNS and HTTPS when its id changed or it is about to expire.
/// Never throws for a DNS or HTTPS failure: those are <see cref="MtaStsLookupKind.Unavailable"/>,
/// or the cached policy with <see cref="MtaStsLookup.Failure"/> set.
/// </summary>
public interface IMtaStsPolicySource
{
    /// <param name="domain">The recipient domain (ASCII, A-labels).</param>
    Task<MtaStsLookup> GetAsync(string domain, CancellationToken cancellationToken = default);
}
