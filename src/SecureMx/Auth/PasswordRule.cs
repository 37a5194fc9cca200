namespace SecureMx.Auth;

/// <summary>What is wrong with a new password, if anything.</summary>
public enum PasswordProblem { None, Empty, TooShort }

/// <summary>
/// The one rule a new mailbox password must meet, wherever it is set (`securemx mailbox add|passwd`,
/// the dashboard's password change), so that the ways to set a password cannot drift apart.
/// Existing passwords are never checked against it: it applies when a password is chosen.
/// </summary>
public static class PasswordRule
{
    public const int MinimumLength = 8;

    public static PasswordProblem Check(string? password) =>
        string.IsNullOrEmpty(password) ? PasswordProblem.Empty
        : password.Length < MinimumLength ? PasswordProblem.TooShort
        : PasswordProblem.None;
}
