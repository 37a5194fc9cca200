using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

public sealed class InboundSessionLogRetentionTests
{
    private static void AddSession(SecureMxStore store, string id, DateTimeOffset at)
    {
        using var c = store.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO inbound_sessions(id, started_at, listener, client_ip) VALUES($id, $at, 'mx', '192.0.2.1');
            INSERT INTO inbound_recipients(session_id, at, recipient_domain, accepted, reply) VALUES($id, $at, 'example.org', 1, '250');
            """;
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        cmd.ExecuteNonQuery();
    }

    private static long Count(SecureMxStore store, string table)
    {
        using var c = store.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void SessionsOlderThanRetentionArePrunedAtMostOnceADay()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new SecureMxStore(dir.Path, time);
        store.Migrate();
        var options = new SecureMxOptions();
        options.Logs.RetentionDays = 90;
        var log = new InboundSessionLog(store, options, time, NullLogger<InboundSessionLog>.Instance);

        AddSession(store, "old", time.GetUtcNow().AddDays(-91));
        AddSession(store, "recent", time.GetUtcNow().AddDays(-89));
        Assert.Equal(2, log.PruneIfDue());
        Assert.Equal(1, Count(store, "inbound_sessions"));
        Assert.Equal(1, Count(store, "inbound_recipients"));

        AddSession(store, "old2", time.GetUtcNow().AddDays(-100));
        Assert.Equal(0, log.PruneIfDue()); // not again the same day
        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(4, log.PruneIfDue()); // old2 and "recent", now 91 days old: a session row and a recipient row each
        Assert.Equal(0, Count(store, "inbound_sessions"));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
