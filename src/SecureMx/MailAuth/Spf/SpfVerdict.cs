namespace SecureMx.MailAuth.Spf;

/// <summary>
/// What check_host() found for one identity: the result, the explanation a "fail" carries (the
/// record's exp=, RFC 7208 §6.2; null when there is none) and, for the log, why an error result came about.
/// </summary>
public sealed record SpfVerdict(SpfResult Result, string? Explanation = null, string? Problem = null);
