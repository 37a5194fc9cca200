namespace SecureMx.Auth;

/// <summary>
/// Counts failed logins per client address and per account and says when further logins are refused:
/// <see cref="LoginThrottle"/> in memory (one node), <see cref="StoreLoginThrottle"/> in a store that
/// several nodes share.
/// </summary>
public interface ILoginThrottle
{
    /// <summary>Checked before a password is verified: a blocked login is refused without looking at it.</summary>
    LoginThrottle.Verdict Check(string ip, string account);

    void RecordFailure(string ip, string account);

    /// <summary>A successful login forgives the address its earlier typos, and marks it as one the account uses.</summary>
    void RecordSuccess(string ip, string account);
}
