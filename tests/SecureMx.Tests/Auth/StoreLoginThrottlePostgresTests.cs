using Microsoft.Extensions.Time.Testing;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Auth;

/// <summary>
/// The shared login throttle on a real PostgreSQL: two nodes (two stores opened on one database) count
/// together; a server that is not there refuses the login (fail-closed).
/// </summary>
public sealed class StoreLoginThrottlePostgresTests : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TwoNodeStores _nodes = new();
    private readonly ListLogger _log = new();


    public void Dispose() => _nodes.Dispose();

    [Fact]
    public void TwoNodesOnOnePostgresStoreCountFailuresTogetherAndShareKnownGoodAddresses()
    {
        var a = new StoreLoginThrottle(_nodes.NodeA, _time, Window, maxPerIp: 3, maxPerAccount: 2);
        var b = new StoreLoginThrottle(_nodes.NodeB, _time, Window, maxPerIp: 3, maxPerAccount: 2);
        a.RecordFailure("192.0.2.1", "u1@example.org");
        b.RecordFailure("192.0.2.1", "u2@example.org");
        Assert.Equal(LoginThrottle.Verdict.Allowed, a.Check("192.0.2.1", "u3@example.org"));
        a.RecordFailure("192.0.2.1", "u3@example.org");
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, b.Check("192.0.2.1", "u4@example.org"));

        b.RecordSuccess("203.0.113.5", "alice@example.org");
        a.RecordFailure("198.51.100.1", "alice@example.org");
        b.RecordFailure("198.51.100.2", "alice@example.org");
        Assert.Equal(LoginThrottle.Verdict.AccountBlocked, a.Check("198.51.100.3", "alice@example.org"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, a.Check("203.0.113.5", "alice@example.org"));

        _time.Advance(Window + StoreLoginThrottle.PruneEvery);
        a.RecordFailure("192.0.2.9", "x@example.org"); // prunes what left the window
        Assert.Equal(2L, Convert.ToInt64(_nodes.NodeB.Scalar("SELECT COUNT(*) FROM login_failures")));
        Assert.Equal(0L, Convert.ToInt64(_nodes.NodeB.Scalar("SELECT COUNT(*) FROM login_known_good")));
    }

    [Fact]
    public async Task APostgresServerThatIsNotThereRefusesEveryLogin()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop(); // nothing listens there now
        var gone = StoreDatabase.OpenUnmigrated(_nodes.DirectoryB, new StoreOptions { ConnectionString = $"postgresql://securemx@127.0.0.1:{port}/none", PasswordFile = PostgresServer.Shared.PasswordFile });
        var mailboxes = new MailboxRepository(_nodes.NodeA, _time);
        mailboxes.AddDomain("example.org");
        mailboxes.AddMailbox("alice", "example.org", PasswordHash.Create("password123"));
        var auth = new AccountAuthenticator(mailboxes, new AuthOptions { FailureDelay = "0s" }, _time, _log, gone);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => auth.LoginAsync("alice@example.org", "password123", "192.0.2.1", "PLAIN", TestContext.Current.CancellationToken));
        Assert.True(StoreDatabase.IsUnreachable(ex), ex.ToString());
        Assert.True(SecureMx.Store.StoreUnavailable.Is(ex));
        Assert.False(auth.AllowsExternalLogin("alice@example.org", "192.0.2.1", "IMAP"));
    }
}
