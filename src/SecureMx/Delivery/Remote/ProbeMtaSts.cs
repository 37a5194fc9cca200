namespace SecureMx.Delivery.Remote;

/// <summary>
/// What `securemx probe` found of a domain's MTA-STS (RFC 8461): the "_mta-sts" TXT record, the policy
/// fetched now over HTTPS (not written to the cache), and the verdict "would MTA-STS (enforce) deliver".
/// </summary>
/// <param name="Txt">The TXT record as found ("v=STSv1; id=…;"), "none", "invalid: …" or "lookup failed: …".</param>
/// <param name="PolicyId">The record's id; null without a valid record.</param>
/// <param name="Mode">The fetched policy's mode (none, testing, enforce); null without a policy.</param>
/// <param name="Mx">The policy's mx patterns.</param>
/// <param name="MaxAgeSeconds">The policy's max_age; null without a policy.</param>
/// <param name="Failure">Why no policy could be fetched ("sts-policy-fetch-error: …", RFC 8460 result type first); null otherwise.</param>
/// <param name="Delivers">Would enforce deliver through at least one MX host: null when no policy applies or it cannot be judged.</param>
/// <param name="Judged">False when a lookup failed and nothing can be said (the exit status 2 of probe).</param>
/// <param name="Verdict">The verdict in words.</param>
public sealed record ProbeMtaSts(string Txt, string? PolicyId, string? Mode, IReadOnlyList<string> Mx, long? MaxAgeSeconds, string? Failure,
    bool? Delivers, bool Judged, string Verdict);
