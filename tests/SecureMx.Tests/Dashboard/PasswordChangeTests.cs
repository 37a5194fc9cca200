using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The password change behind the account page: the current password is checked as a login is (the
/// shared throttle, the per-minute cap), the new one must meet <see cref="PasswordRule"/>, and only
/// a change that succeeds touches the store. Pages and sessions: AccountPasswordPageTests.
/// </summary>
public sealed class PasswordChangeTests : IDisposable
{
    private const string Account = "alice@example.org";
    private const string Current = "current-password-1";
    private const string Next = "next-password-2";
    private const string Ip = "192.0.2.10";
    private const int MaxFailuresPerAccount = 3;

    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();
    private readonly AccountAuthenticator _authenticator;

    public PasswordChangeTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddMailbox("alice", "example.org", PasswordHash.Create(Current));
        _authenticator = new AccountAuthenticator(_store.Mailboxes, new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = MaxFailuresPerAccount },
            TimeProvider.System, _log);
    }

    public void Dispose() => _store.Dispose();

    private PasswordChange Create(int attemptsPerMinute = 100) =>
        new(_authenticator, new LoginRateLimiter(attemptsPerMinute), _store.Mailboxes, new Logger(_log));

    private string StoredHash => _store.Mailboxes.FindPasswordHash(Account)!;

    [Fact]
    public async Task TheRightCurrentPasswordAndAValidNewOneReplaceTheHash()
    {
        var result = await Create().ChangeAsync(Account, Current, Next, Next, Ip, null, default);

        Assert.Equal(PasswordChangeResult.Changed, result);
        Assert.True(PasswordHash.Verify(Next, StoredHash));
        Assert.Equal(LoginResult.Success, (await _authenticator.LoginAsync(Account, Next, "192.0.2.99", "PLAIN", default)).Result);
        Assert.Equal(LoginResult.Failed, (await _authenticator.LoginAsync(Account, Current, "192.0.2.99", "PLAIN", default)).Result);
    }

    [Theory]
    [InlineData("", Next, Next, PasswordChangeResult.CurrentMissing)]
    [InlineData(Current, "", "", PasswordChangeResult.NewMissing)]
    [InlineData(Current, Next, "next-password-3", PasswordChangeResult.Mismatch)]
    [InlineData(Current, Next, "", PasswordChangeResult.Mismatch)]
    [InlineData(Current, "1234567", "1234567", PasswordChangeResult.TooShort)]
    [InlineData("wrong-password", Next, Next, PasswordChangeResult.CurrentWrong)]
    public async Task ARefusedChangeLeavesTheStoredHashAsItWas(string current, string next, string confirmation, PasswordChangeResult expected)
    {
        var before = StoredHash;
        var session = _store.Sessions.Start(Account, TimeSpan.FromHours(1));
        var result = await Create().ChangeAsync(Account, current, next, confirmation, Ip, null, default);
        Assert.Equal(expected, result);
        Assert.Equal(before, StoredHash);
        Assert.Equal(DashboardSessionState.Active, _store.Sessions.Check(session, Account));
    }

    [Fact]
    public async Task AChangeEndsEveryOtherSessionOfTheAccountOnTheServerAndKeepsTheOneThatMadeIt()
    {
        var here = _store.Sessions.Start(Account, TimeSpan.FromHours(1));
        var elsewhere = _store.Sessions.Start(Account, TimeSpan.FromHours(1));
        _store.Mailboxes.AddMailbox("bob", "example.org", PasswordHash.Create(Current));
        var someoneElse = _store.Sessions.Start("bob@example.org", TimeSpan.FromHours(1));

        Assert.Equal(PasswordChangeResult.Changed, await Create().ChangeAsync(Account, Current, Next, Next, Ip, here, default));

        Assert.Equal(DashboardSessionState.Active, _store.Sessions.Check(here, Account));
        Assert.Equal(DashboardSessionState.Revoked, _store.Sessions.Check(elsewhere, Account));
        Assert.Equal(DashboardSessionState.Active, _store.Sessions.Check(someoneElse, "bob@example.org"));
    }

    [Fact]
    public async Task AWrongCurrentPasswordCountsAsAFailedLoginInTheThrottleSmtpAuthShares()
    {
        var change = Create();
        for (var i = 0; i < MaxFailuresPerAccount; i++)
            Assert.Equal(PasswordChangeResult.CurrentWrong, (await change.ChangeAsync(Account, "guess-" + i, Next, Next, Ip, null, default)));

        // The account is blocked now, for the right password too, from an address that never logged in…
        Assert.Equal(PasswordChangeResult.TooMany, (await change.ChangeAsync(Account, Current, Next, Next, Ip, null, default)));
        Assert.Equal(LoginResult.Blocked, (await _authenticator.LoginAsync(Account, Current, "192.0.2.20", "PLAIN", default)).Result);
        Assert.True(PasswordHash.Verify(Current, StoredHash));
    }

    [Fact]
    public async Task ANewPasswordThatFailsTheRuleCostsNoAttemptAndNoFailure()
    {
        var change = Create(attemptsPerMinute: 1);
        for (var i = 0; i < 2 * MaxFailuresPerAccount; i++)
        {
            Assert.Equal(PasswordChangeResult.Mismatch, (await change.ChangeAsync(Account, "guess-" + i, Next, "other", Ip, null, default)));
            Assert.Equal(PasswordChangeResult.TooShort, (await change.ChangeAsync(Account, "guess-" + i, "short", "short", Ip, null, default)));
        }
        Assert.Equal(PasswordChangeResult.Changed, (await change.ChangeAsync(Account, Current, Next, Next, Ip, null, default)));
    }

    [Fact]
    public async Task TheAttemptsPerMinuteOfTheLoginPageApply()
    {
        var change = Create(attemptsPerMinute: 1);
        Assert.Equal(PasswordChangeResult.CurrentWrong, (await change.ChangeAsync(Account, "guess", Next, Next, Ip, null, default)));
        Assert.Equal(PasswordChangeResult.TooMany, (await change.ChangeAsync(Account, Current, Next, Next, Ip, null, default)));
        Assert.True(PasswordHash.Verify(Current, StoredHash));
    }

    [Fact]
    public async Task AMailboxRemovedMeanwhileIsGoneNotAnError()
    {
        // The authenticator finds the mailbox; where the new hash goes, it has been removed.
        using var elsewhere = new TestStore();
        var change = new PasswordChange(_authenticator, new LoginRateLimiter(100), elsewhere.Mailboxes, new Logger(_log));
        Assert.Equal(PasswordChangeResult.AccountGone, (await change.ChangeAsync(Account, Current, Next, Next, Ip, null, default)));
    }

    [Fact]
    public async Task TheLogNamesTheAccountAndTheAddressButNoPassword()
    {
        var change = Create();
        await change.ChangeAsync(Account, "wrong-password", Next, Next, Ip, null, default);
        await change.ChangeAsync(Account, Current, Next, Next, Ip, null, default);

        Assert.Contains(_log.Lines, l => l.Contains($"password of {Account} changed from {Ip}", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Lines, l => l.Contains(Current, StringComparison.Ordinal) || l.Contains(Next, StringComparison.Ordinal) || l.Contains("wrong-password", StringComparison.Ordinal));
    }

    private sealed class Logger(ListLogger inner) : ILogger<PasswordChange>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
