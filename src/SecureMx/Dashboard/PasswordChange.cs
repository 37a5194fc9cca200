using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>The outcome of one password change on the dashboard.</summary>
public enum PasswordChangeResult { Changed, CurrentMissing, NewMissing, Mismatch, TooShort, CurrentWrong, TooMany, AccountGone }

/// <summary>
/// A signed-in user changes their own password. The current password is checked as a login is —
/// the same authenticator, so a wrong one counts in the failure throttle shared with SMTP AUTH and
/// the login page, and the same cap per client address and minute — and the new one must meet
/// <see cref="PasswordRule"/>, as for `securemx mailbox passwd`. The new hash is effective at once
/// for SMTP AUTH, and the account's other dashboard sessions end with it (<see cref="DashboardSession"/>); passwords are never logged.
/// </summary>
public sealed class PasswordChange(AccountAuthenticator authenticator, LoginRateLimiter limiter, MailboxRepository mailboxes, ILogger<PasswordChange> log)
{
    /// <summary>
    /// Changes the password of <paramref name="account"/>; on success every dashboard session of the
    /// account ends except <paramref name="keepSession"/> (the one that made the change).
    /// </summary>
    public async Task<PasswordChangeResult> ChangeAsync(string account, string? current, string? newPassword, string? confirmation, string clientIp,
        string? keepSession, CancellationToken ct)
    {
        // What needs no password hash first: a typo in the new password costs no attempt.
        if (string.IsNullOrEmpty(current)) return PasswordChangeResult.CurrentMissing;
        if (string.IsNullOrEmpty(newPassword)) return PasswordChangeResult.NewMissing;
        if (!string.Equals(newPassword, confirmation, StringComparison.Ordinal)) return PasswordChangeResult.Mismatch;
        if (PasswordRule.Check(newPassword) != PasswordProblem.None) return PasswordChangeResult.TooShort;

        if (!limiter.TryAcquire(clientIp))
        {
            log.LogWarning("dashboard password change of {Account} from {Ip} refused: more than the allowed attempts per minute", account, clientIp);
            return PasswordChangeResult.TooMany;
        }
        var (login, _) = await authenticator.LoginAsync(account, current, clientIp, "dashboard-password-change", ct);
        if (login == LoginResult.Blocked) return PasswordChangeResult.TooMany;
        if (login != LoginResult.Success) return PasswordChangeResult.CurrentWrong;

        try
        {
            mailboxes.SetPasswordHash(account, PasswordHash.Create(newPassword), keepSession);
        }
        catch (StoreException)
        {
            return PasswordChangeResult.AccountGone; // removed between the check and the change
        }
        log.LogInformation("dashboard: password of {Account} changed from {Ip}; its other dashboard sessions are ended", account, clientIp);
        return PasswordChangeResult.Changed;
    }
}
