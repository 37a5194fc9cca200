using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

public sealed class SessionLogRetentionTests
{
    private static void AddSession(TestStore store, string id, DateTimeOffset at) =>
        store.Database.Execute("""
            INSERT INTO inbound_sessions(id, started_at, listener, client_ip) VALUES(@id, @at, 'mx', '192.0.2.1');
            INSERT INTO inbound_recipients(session_id, at, recipient_domain, accepted, reply) VALUES(@id, @at, 'example.org', 1, '250');
            """, ("@id", id), ("@at", at.ToUnixTimeMilliseconds()));

    [Fact]
    public void SessionsOlderThanRetentionArePrunedAtMostOnceADay()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new TestStore(time);
        using var log = new SessionLogRepository(store.Database, new LogOptions { RetentionDays = 90 }, time, NullLogger.Instance);

        AddSession(store, "old", time.GetUtcNow().AddDays(-91));
        AddSession(store, "recent", time.GetUtcNow().AddDays(-89));
        Assert.Equal(2, log.PruneIfDue());
        Assert.Equal(1, store.Count("inbound_sessions"));
        Assert.Equal(1, store.Count("inbound_recipients"));

        AddSession(store, "old2", time.GetUtcNow().AddDays(-100));
        Assert.Equal(0, log.PruneIfDue()); // not again the same day
        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(4, log.PruneIfDue()); // old2 and "recent", now 91 days old: a session row and a recipient row each
        Assert.Equal(0, store.Count("inbound_sessions"));
    }
}
