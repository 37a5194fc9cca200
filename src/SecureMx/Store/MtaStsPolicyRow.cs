namespace SecureMx.Store;

/// <summary>
/// One recipient domain's MTA-STS policy as the store keeps it (table mta_sts_policies): the TXT id
/// it was fetched under, the policy body as served, when it was fetched, when it expires (fetched +
/// max_age), when it was last checked (a refresh, or a failed fetch), and the last failure, if any.
/// </summary>
public sealed record MtaStsPolicyRow(string Domain, string PolicyId, string Policy, DateTimeOffset FetchedAt, DateTimeOffset ExpiresAt,
    DateTimeOffset CheckedAt, string? LastError);
