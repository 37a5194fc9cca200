using SecureMx.Auth;
using SecureMx.Cli;

namespace SecureMx.Tests.Auth;

/// <summary>
/// The one rule for a new password, and that `securemx mailbox add|passwd` applies exactly it (the
/// dashboard's use of it is pinned in Dashboard/PasswordChangeTests).
/// </summary>
public sealed class PasswordRuleTests
{
    public static TheoryData<string, PasswordProblem> Candidates() => new()
    {
        { "", PasswordProblem.Empty },
        { "a", PasswordProblem.TooShort },
        { "1234567", PasswordProblem.TooShort },
        { "12345678", PasswordProblem.None },
        { "correct horse battery staple", PasswordProblem.None },
        { "pässwörd", PasswordProblem.None },
        { "       ", PasswordProblem.TooShort },
    };

    [Theory]
    [MemberData(nameof(Candidates))]
    public void ANewPasswordNeedsAtLeastEightCharacters(string password, PasswordProblem expected) =>
        Assert.Equal(expected, PasswordRule.Check(password));

    [Fact]
    public void NoPasswordAtAllIsEmpty() => Assert.Equal(PasswordProblem.Empty, PasswordRule.Check(null));

    [Theory]
    [MemberData(nameof(Candidates))]
    public void TheCliAcceptsExactlyWhatTheRuleAccepts(string password, PasswordProblem expected)
    {
        if (expected == PasswordProblem.None)
        {
            Assert.Equal(password, StoreCommands.ReadPassword(new StringReader(password + "\n")));
            return;
        }
        var refused = Assert.Throws<CliException>(() => StoreCommands.ReadPassword(new StringReader(password + "\n")));
        Assert.Equal(expected == PasswordProblem.Empty ? "no password on standard input" : "password too short (at least 8 characters)", refused.Message);
    }

    [Fact]
    public void TheCliReadsOnlyTheFirstLine() =>
        Assert.Equal("first-line-password", StoreCommands.ReadPassword(new StringReader("first-line-password\nsecond line\n")));
}
