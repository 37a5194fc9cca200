namespace SecureMx.MtaSts;

/// <summary>
/// The answer of <see cref="IMtaStsPolicyFetcher.FetchAsync"/>: a valid policy and the body it was
/// read from (what the cache stores), or the failure.
/// </summary>
public sealed record MtaStsFetchResult(MtaStsPolicy? Policy, string? Body, MtaStsFailure? Failure)
{
    public static MtaStsFetchResult Fetched(MtaStsPolicy policy, string body) => new(policy, body, null);

    public static MtaStsFetchResult Failed(MtaStsFailure failure) => new(null, null, failure);

    public bool Succeeded => Policy is not null;
}
