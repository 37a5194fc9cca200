namespace SecureMx.MailAuth.Dmarc;

/// <summary>DMARC results as Authentication-Results writes them (RFC 7489 §11.2, RFC 8601 §2.7).</summary>
public enum DmarcResult
{
    None,
    Pass,
    Fail,
    TempError,
    PermError,
}

/// <summary>
/// The DMARC outcome of a message: the result, the From: domain it is about, the policy the domain
/// asks for (null when no record was found) and the one to apply (<see cref="Disposition"/>: pct below
/// 100 lowers it one step), and for the log why it is an error.
/// </summary>
public sealed record DmarcVerdict(DmarcResult Result, string? FromDomain, DmarcPolicy? Policy = null, DmarcPolicy? Disposition = null, string? Problem = null)
{
    public string Name => Result.ToString().ToLowerInvariant();
}
