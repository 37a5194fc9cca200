namespace SecureMx.MailAuth.Dkim;

/// <summary>DKIM results as Authentication-Results writes them (RFC 8601 §2.7.1).</summary>
public enum DkimResult
{
    /// <summary>The message has no signature.</summary>
    None,

    /// <summary>The signature verified.</summary>
    Pass,

    /// <summary>The signature did not verify (body hash, signature value, a key too weak, an algorithm not accepted).</summary>
    Fail,

    /// <summary>The signature has syntax errors, or was not checked (over the cap on signatures per message).</summary>
    Neutral,

    /// <summary>The key could not be fetched for now (DNS failure, timeout): the sender may retry.</summary>
    TempError,

    /// <summary>No key, a revoked key or an unusable key record: it will not get better by retrying.</summary>
    PermError,
}

/// <summary>One signature's outcome: result, its d= and s=, and for the log why it is not a pass.</summary>
public sealed record DkimSignatureResult(DkimResult Result, string? Domain, string? Selector, string? Problem = null)
{
    /// <summary>"pass", "fail", "temperror" … (RFC 8601 §2.7.1).</summary>
    public string Name => Result.ToString().ToLowerInvariant();
}
