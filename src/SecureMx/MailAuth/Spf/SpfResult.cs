namespace SecureMx.MailAuth.Spf;

/// <summary>The results of check_host() (RFC 7208 §2.6), written as in Authentication-Results (RFC 8601 §2.7.2).</summary>
public enum SpfResult
{
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

/// <summary>The RFC spelling of a result.</summary>
public static class SpfResultNames
{
    /// <summary>"pass", "softfail", "temperror" … (RFC 7208 §8, RFC 8601 §2.7.2).</summary>
    public static string Name(this SpfResult result) => result.ToString().ToLowerInvariant();
}
