using Microsoft.Extensions.Time.Testing;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Auth;

/// <summary>
/// The login throttle of nodes that share one store: two throttles (two nodes) on one store count
/// together, with the rules of the in-memory throttle; old rows are pruned; a store that cannot be
/// reached refuses the login (fail-closed).
/// </summary>
public sealed class StoreLoginThrottleTests : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TestStore _store;
    private readonly ListLogger _log = new();

    public StoreLoginThrottleTests()
    {
        _store = new TestStore(_time);
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddMailbox("alice", "example.org", PasswordHash.Create("password123"));
    }

    public void Dispose() => _store.Dispose();

    private StoreLoginThrottle Node(int maxPerIp = 100, int maxPerAccount = 100) => new(_store.Database, _time, Window, maxPerIp, maxPerAccount);

    private AccountAuthenticator Authenticator(StoreDatabase store, int maxPerAccount) =>
        new(_store.Mailboxes, new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = maxPerAccount, MaxFailuresPerIp = 100 }, _time, _log, store);

    [Fact]
    public void FailuresOnTwoNodesCountTogetherForTheAddress()
    {
        var a = Node(maxPerIp: 4);
        var b = Node(maxPerIp: 4);
        a.RecordFailure("192.0.2.1", "user1");
        a.RecordFailure("192.0.2.1", "user2");
        b.RecordFailure("192.0.2.1", "user3");
        Assert.Equal(LoginThrottle.Verdict.Allowed, b.Check("192.0.2.1", "user4"));
        b.RecordFailure("::ffff:192.0.2.1", "user4"); // the mapped form is the same client

        Assert.Equal(LoginThrottle.Verdict.IpBlocked, a.Check("192.0.2.1", "user5"));
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, b.Check("192.0.2.1", "user5"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, a.Check("192.0.2.2", "user5"));
    }

    [Fact]
    public void AnAccountBlockedByFailuresOnTwoNodesSparesAnAddressItLoggedInFromOnEither()
    {
        var a = Node(maxPerAccount: 2);
        var b = Node(maxPerAccount: 2);
        a.RecordSuccess("203.0.113.5", "alice@example.org"); // the owner's usual client, seen by node A
        a.RecordFailure("198.51.100.1", "alice@example.org");
        b.RecordFailure("198.51.100.2", "alice@example.org");

        Assert.Equal(LoginThrottle.Verdict.AccountBlocked, b.Check("198.51.100.3", "alice@example.org"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, b.Check("203.0.113.5", "alice@example.org"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, b.Check("198.51.100.3", "bob@example.org"));
    }

    [Fact]
    public void FailuresLeaveTheWindowAndASuccessForgivesTheAddressOnEveryNode()
    {
        var a = Node(maxPerIp: 2);
        var b = Node(maxPerIp: 2);
        a.RecordFailure("192.0.2.1", "x");
        _time.Advance(TimeSpan.FromMinutes(1));
        a.RecordFailure("192.0.2.1", "y");
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, b.Check("192.0.2.1", "z"));
        _time.Advance(Window - TimeSpan.FromMinutes(1)); // the first failure is 15 min old now
        Assert.Equal(LoginThrottle.Verdict.Allowed, b.Check("192.0.2.1", "z"));

        a.RecordFailure("192.0.2.1", "z");
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, b.Check("192.0.2.1", "z"));
        b.RecordSuccess("192.0.2.1", "z");
        Assert.Equal(LoginThrottle.Verdict.Allowed, a.Check("192.0.2.1", "z"));
    }

    [Fact]
    public void RowsOlderThanTheWindowArePrunedByTheNextFailure()
    {
        var a = Node();
        a.RecordFailure("192.0.2.1", "x");
        a.RecordSuccess("192.0.2.9", "alice@example.org");
        Assert.Equal(2, _store.Count("login_failures"));
        _time.Advance(Window + StoreLoginThrottle.PruneEvery);

        a.RecordFailure("192.0.2.2", "y");

        Assert.Equal(2, _store.Count("login_failures")); // only the new failure's two rows
        Assert.Equal(0, _store.Count("login_known_good"));
    }

    [Fact]
    public async Task SmtpAuthFailuresOnOneNodeBlockTheAccountOnTheOther()
    {
        var a = Authenticator(_store.Database, maxPerAccount: 2);
        var b = Authenticator(_store.Database, maxPerAccount: 2);
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(LoginResult.Failed, (await a.LoginAsync("alice@example.org", "wrong-1", "192.0.2.1", "PLAIN", ct)).Result);
        Assert.Equal(LoginResult.Failed, (await a.LoginAsync("alice@example.org", "wrong-2", "192.0.2.2", "PLAIN", ct)).Result);

        // A third guess through the other node is refused before the password is looked at.
        Assert.Equal(LoginResult.Blocked, (await b.LoginAsync("alice@example.org", "password123", "192.0.2.3", "PLAIN", ct)).Result);
        Assert.False(b.AllowsExternalLogin("alice@example.org", "192.0.2.3", "IMAP"));
    }

    [Fact]
    public async Task AStoreThatCannotBeReachedRefusesEveryLoginAndTheRightPasswordToo()
    {
        using var gone = new TempDirectory();
        var unreachable = new StoreDatabase(Path.Combine(gone.Path, "no-such-directory"));
        var auth = Authenticator(unreachable, maxPerAccount: 5);

        // Fail-closed: SMTP AUTH hears 454 4.7.0 from the session (AccountAuthenticator.IsStoreFault), Dovecot a refusal.
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => auth.LoginAsync("alice@example.org", "password123", "192.0.2.1", "PLAIN", TestContext.Current.CancellationToken));
        Assert.True(SecureMx.Store.StoreUnavailable.Is(ex));
        Assert.False(auth.AllowsExternalLogin("alice@example.org", "192.0.2.1", "IMAP"));
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning: IMAP login from 192.0.2.1 for alice@example.org refused: the login throttle's store cannot be reached", StringComparison.Ordinal));
        auth.RecordExternalLogin("alice@example.org", "192.0.2.1", "IMAP", success: false); // logged, not thrown
        Assert.Contains(_log.Lines, l => l.Contains("the outcome could not be counted", StringComparison.Ordinal));
    }
}
