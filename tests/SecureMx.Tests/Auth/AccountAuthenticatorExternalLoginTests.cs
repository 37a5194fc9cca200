using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Auth;

/// <summary>
/// Logins another server checks (Dovecot's IMAP and POP3): asked before, counted after, in the same
/// counters as SMTP AUTH, so a guesser gets the configured number of tries over all of them together.
/// </summary>
public sealed class AccountAuthenticatorExternalLoginTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();

    public AccountAuthenticatorExternalLoginTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddMailbox("alice", "example.org", PasswordHash.Create("password123"));
    }

    public void Dispose() => _store.Dispose();

    private AccountAuthenticator Create(int maxPerAccount = 2, int maxPerIp = 100) =>
        new(_store.Mailboxes, new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = maxPerAccount, MaxFailuresPerIp = maxPerIp }, TimeProvider.System, _log);

    [Fact]
    public async Task SmtpAuthFailuresRefuseTheNextImapLoginOfThatAccount()
    {
        var auth = Create(maxPerAccount: 2);
        var ct = TestContext.Current.CancellationToken;
        Assert.True(auth.AllowsExternalLogin("alice@example.org", "192.0.2.1", "IMAP"));
        await auth.LoginAsync("alice@example.org", "wrong-1", "192.0.2.1", "PLAIN", ct);
        await auth.LoginAsync("alice@example.org", "wrong-2", "192.0.2.1", "PLAIN", ct);

        Assert.False(auth.AllowsExternalLogin("ALICE@example.org", "192.0.2.2", "IMAP"));
        Assert.Contains("Warning: IMAP login from 192.0.2.2 for ALICE@example.org refused: too many failed logins for this account", _log.Lines);
    }

    [Fact]
    public async Task ImapFailuresRefuseTheNextSmtpAuthOfThatAccountEvenWithTheRightPassword()
    {
        var auth = Create(maxPerAccount: 2);
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "IMAP", success: false);
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "POP3", success: false);

        var (result, account) = await auth.LoginAsync("alice@example.org", "password123", "192.0.2.3", "PLAIN", TestContext.Current.CancellationToken);
        Assert.Equal((LoginResult.Blocked, (string?)null), (result, account));
        Assert.Contains("Warning: IMAP login from 192.0.2.1 for alice@example.org failed", _log.Lines);
        Assert.Contains("Warning: POP3 login from 192.0.2.1 for alice@example.org failed", _log.Lines);
    }

    [Fact]
    public void TooManyFailuresFromOneAddressAreRefusedForEveryName()
    {
        var auth = Create(maxPerIp: 2);
        auth.RecordExternalLogin("a@example.org", "192.0.2.9", "IMAP", success: false);
        auth.RecordExternalLogin("b@example.org", "192.0.2.9", "IMAP", success: false);
        Assert.False(auth.AllowsExternalLogin("c@example.org", "192.0.2.9", "IMAP"));
        Assert.Contains(_log.Lines, l => l.EndsWith("refused: too many failed logins from this address", StringComparison.Ordinal));
        Assert.True(auth.AllowsExternalLogin("c@example.org", "192.0.2.10", "IMAP"));
    }

    [Fact]
    public void ASuccessForgivesTheAddressAndTheAccountStillWorksFromThere()
    {
        var auth = Create(maxPerAccount: 2, maxPerIp: 2);
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "IMAP", success: false);
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "IMAP", success: true);
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "IMAP", success: false);
        // Two failures for the account, but the address it logged in from is spared the account's block.
        Assert.True(auth.AllowsExternalLogin("alice@example.org", "192.0.2.1", "IMAP"));
        Assert.False(auth.AllowsExternalLogin("alice@example.org", "192.0.2.50", "IMAP"));
        Assert.Contains("Information: IMAP login from 192.0.2.1 as alice@example.org", _log.Lines);
    }

    [Fact]
    public void ANameWithControlCharactersIsLoggedWithoutThem()
    {
        var auth = Create();
        auth.RecordExternalLogin("eve\r\nInformation: forged line", "192.0.2.1", "IMAP", success: false);
        Assert.Contains("Warning: IMAP login from 192.0.2.1 for eve??Information: forged line failed", _log.Lines);
    }
}
