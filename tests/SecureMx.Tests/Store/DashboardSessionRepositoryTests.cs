using Microsoft.Extensions.Time.Testing;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The dashboard's session records on a fake clock: the absolute lifetime, revocation by logout and
/// by the changes that must end an account's sessions, the hash-only storage and the pruning.
/// </summary>
public sealed class DashboardSessionRepositoryTests : IDisposable
{
    private const string Alice = "alice@a.test";
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly TestStore _store;

    public DashboardSessionRepositoryTests()
    {
        _store = new TestStore(_time);
        _store.Mailboxes.AddDomain("a.test");
        _store.Mailboxes.AddMailbox("alice", "a.test", "x");
        _store.Mailboxes.AddMailbox("bob", "a.test", "x");
    }

    public void Dispose() => _store.Dispose();

    private DashboardSessionRepository Sessions => _store.Sessions;

    [Fact]
    public void ASessionIsActiveUntilItsAbsoluteLifetimeEndsHoweverOftenItIsUsed()
    {
        var id = Sessions.Start(Alice, Lifetime);
        for (var elapsed = TimeSpan.Zero; elapsed < Lifetime; elapsed += TimeSpan.FromMinutes(10))
        {
            Assert.Equal(DashboardSessionState.Active, Sessions.Check(id, Alice));
            _time.Advance(TimeSpan.FromMinutes(10));
        }
        Assert.Equal(DashboardSessionState.Expired, Sessions.Check(id, Alice));
    }

    [Fact]
    public void TheLastMillisecondIsStillInsideTheLifetime()
    {
        var id = Sessions.Start(Alice, Lifetime);
        _time.Advance(Lifetime - TimeSpan.FromMilliseconds(1));
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(id, Alice));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(DashboardSessionState.Expired, Sessions.Check(id, Alice));
    }

    [Fact]
    public void OnlyTheHashOfTheIdIsStored()
    {
        var id = Sessions.Start(Alice, Lifetime);
        Assert.True(id.Length >= 43, id); // 256 random bits
        var stored = (string)_store.Database.Scalar("SELECT id_hash FROM dashboard_sessions")!;
        Assert.Equal(DashboardSessionRepository.HashOf(id), stored);
        Assert.DoesNotContain(id, stored, StringComparison.Ordinal);
        Assert.Equal(DashboardSessionState.Unknown, Sessions.Check(stored, Alice)); // the stored value is not a key
    }

    [Fact]
    public void AnIdIsValidOnlyForItsOwnAccount()
    {
        var id = Sessions.Start(Alice, Lifetime);
        Assert.Equal(DashboardSessionState.Unknown, Sessions.Check(id, "bob@a.test"));
        Assert.Equal(DashboardSessionState.Unknown, Sessions.Check("made-up", Alice));
    }

    [Fact]
    public void ALogoutRevokesOnlyThatSession()
    {
        var first = Sessions.Start(Alice, Lifetime);
        var second = Sessions.Start(Alice, Lifetime);

        Assert.True(Sessions.Revoke(first, "logout"));

        Assert.Equal(DashboardSessionState.Revoked, Sessions.Check(first, Alice));
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(second, Alice));
        Assert.False(Sessions.Revoke(first, "logout"));
    }

    [Fact]
    public void APasswordChangeRevokesEverySessionOfTheAccountButTheOneKept()
    {
        var here = Sessions.Start(Alice, Lifetime);
        var elsewhere = Sessions.Start(Alice, Lifetime);
        var bob = Sessions.Start("bob@a.test", Lifetime);

        _store.Mailboxes.SetPasswordHash(Alice, "new-hash", keepDashboardSession: here);

        Assert.Equal(DashboardSessionState.Active, Sessions.Check(here, Alice));
        Assert.Equal(DashboardSessionState.Revoked, Sessions.Check(elsewhere, Alice));
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(bob, "bob@a.test"));

        _store.Mailboxes.SetPasswordHash(Alice, "newer-hash"); // the CLI: none kept
        Assert.Equal(DashboardSessionState.Revoked, Sessions.Check(here, Alice));
    }

    [Fact]
    public void AHashFormatUpgradeAtLoginEndsNoSession()
    {
        var id = Sessions.Start(Alice, Lifetime);
        _store.Mailboxes.UpgradePasswordHash(Alice, "same-password-newer-format");
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(id, Alice));
    }

    [Theory]
    [InlineData("grant domain admin")]
    [InlineData("revoke domain admin")]
    [InlineData("grant system admin")]
    [InlineData("revoke system admin")]
    [InlineData("domain removed")]
    public void ARoleChangeRevokesTheAccountsSessions(string change)
    {
        _store.Mailboxes.AddDomain("b.test");
        if (change.StartsWith("revoke domain", StringComparison.Ordinal) || change == "domain removed") _store.Roles.AddDomainAdmin("b.test", Alice, "test");
        if (change == "revoke system admin") _store.Roles.AddSystemAdmin(Alice, "test");
        var id = Sessions.Start(Alice, Lifetime);
        var bob = Sessions.Start("bob@a.test", Lifetime);

        switch (change)
        {
            case "grant domain admin": _store.Roles.AddDomainAdmin("b.test", Alice, "test"); break;
            case "revoke domain admin": _store.Roles.RemoveDomainAdmin("b.test", Alice, "test"); break;
            case "grant system admin": _store.Roles.AddSystemAdmin(Alice, "test"); break;
            case "revoke system admin": _store.Roles.RemoveSystemAdmin(Alice, "test"); break;
            case "domain removed": _store.Mailboxes.RemoveDomain("b.test"); break;
        }

        Assert.Equal(DashboardSessionState.Revoked, Sessions.Check(id, Alice));
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(bob, "bob@a.test"));
    }

    [Fact]
    public void ARemovedMailboxsSessionsDoNotComeBackWithANewMailboxOfTheSameName()
    {
        var id = Sessions.Start(Alice, Lifetime);
        _store.Mailboxes.RemoveMailbox(Alice);
        Assert.Equal(DashboardSessionState.Unknown, Sessions.Check(id, Alice));

        _store.Mailboxes.AddMailbox("alice", "a.test", "y");

        Assert.Equal(DashboardSessionState.Revoked, Sessions.Check(id, Alice));
    }

    [Fact]
    public void LastSeenIsWrittenAtMostOnceAMinute()
    {
        var id = Sessions.Start(Alice, Lifetime);
        long LastSeen() => Convert.ToInt64(_store.Database.Scalar("SELECT last_seen_at FROM dashboard_sessions"));
        var started = LastSeen();

        _time.Advance(TimeSpan.FromSeconds(59));
        Sessions.Check(id, Alice);
        Assert.Equal(started, LastSeen());

        _time.Advance(TimeSpan.FromSeconds(1));
        Sessions.Check(id, Alice);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), LastSeen());
    }

    [Fact]
    public void RowsPastTheirLifetimeArePrunedAtTheNextLoginRevokedOrNot()
    {
        var old = Sessions.Start(Alice, TimeSpan.FromHours(1));
        var revoked = Sessions.Start(Alice, TimeSpan.FromHours(1));
        Sessions.Revoke(revoked, "logout");
        var longer = Sessions.Start("bob@a.test", TimeSpan.FromHours(3));
        _time.Advance(TimeSpan.FromHours(2));

        Sessions.Start(Alice, Lifetime);

        Assert.Equal(2, _store.Count("dashboard_sessions"));
        Assert.Equal(DashboardSessionState.Unknown, Sessions.Check(old, Alice));
        Assert.Equal(DashboardSessionState.Active, Sessions.Check(longer, "bob@a.test"));
    }
}
