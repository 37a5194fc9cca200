using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The delivery log and the session log over the real database, written behind: a row is in the
/// table after a flush, queries flush first, stopping writes what is queued, and a database error
/// (here: the table is gone for a while) keeps the rows for the next flush.
/// </summary>
public sealed class LogWriteBehindTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TestStore _store = new();

    /// <summary>The batching timer's clock (never advanced, so only flushes and stops write) and the retention rule's.</summary>
    private readonly FakeTimeProvider _timers = new(T0);

    public void Dispose() => _store.Dispose();

    private static DeliveryLogEntry Entry(string id) =>
        new(T0, id, "alice@example.org", "alice@example.org", "bob@dest.test", "mx.dest.test", "192.0.2.1", "delivered", 250, "2.0.0", "2.0.0 Ok",
            "TLSv1.3", "TLS_AES_256_GCM_SHA384", "dane");

    private static InboundSessionRecord Session(string id) => new(id, T0, "mx", "192.0.2.7") { Helo = "client.test", EndedAt = T0, EndReason = "quit" };

    [Fact]
    public void ADeliveryLogRowIsInTheTableAfterAFlushWithEveryField()
    {
        using var log = new DeliveryLogRepository(_store.Database, NullLogger.Instance, _timers);
        log.Append([Entry("M1")]);
        Assert.Equal(0, _store.Count("delivery_log"));

        log.Flush();

        Assert.Equal(1, _store.Count("delivery_log"));
        Assert.Equal(Entry("M1"), Assert.Single(_store.DeliveryLog.Query(null, null, null, 10)));
    }

    [Fact]
    public void TheQueryOfTheLogCommandSeesRowsNotYetFlushed()
    {
        using var log = new DeliveryLogRepository(_store.Database, NullLogger.Instance, _timers);
        log.Append([Entry("M1")]);
        Assert.Equal("M1", Assert.Single(log.Query("bob@dest.test", null, null, 10)).MessageId);
    }

    [Fact]
    public async Task DeliveryLogRowsQueuedAtStopAreWritten()
    {
        using var log = new DeliveryLogRepository(_store.Database, NullLogger.Instance, _timers);
        log.Append([Entry("M1"), Entry("M2")]);
        await log.Writer.StopAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, _store.Count("delivery_log"));
    }

    [Fact]
    public void ADatabaseErrorKeepsTheDeliveryLogRowsForTheNextFlush()
    {
        using var log = new DeliveryLogRepository(_store.Database, NullLogger.Instance, _timers);
        _store.Database.Execute("ALTER TABLE delivery_log RENAME TO delivery_log_away");
        log.Append([Entry("M1")]);
        Assert.False(log.Writer.Flush());
        Assert.Equal(1, log.Writer.Pending);

        _store.Database.Execute("ALTER TABLE delivery_log_away RENAME TO delivery_log");
        Assert.True(log.Writer.Flush());
        Assert.Equal(1, _store.Count("delivery_log"));
    }

    [Fact]
    public async Task SessionsQueuedAtStopAreWrittenWithTheirRecipients()
    {
        using var log = new SessionLogRepository(_store.Database, new LogOptions(), _timers, NullLogger.Instance, _timers);
        var s = Session("s1");
        s.Recipients.Add(new InboundRecipientEvent(T0, "sender.test", "example.org", true, "250 2.1.5 Ok"));
        log.Add(s);
        Assert.Equal(0, _store.Count("inbound_sessions"));

        await log.Writer.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, _store.Count("inbound_sessions"));
        Assert.Equal(1, _store.Count("inbound_recipients"));
    }

    [Fact]
    public void ADatabaseErrorKeepsTheSessionsForTheNextFlush()
    {
        using var log = new SessionLogRepository(_store.Database, new LogOptions(), _timers, NullLogger.Instance, _timers);
        _store.Database.Execute("ALTER TABLE inbound_sessions RENAME TO inbound_sessions_away");
        log.Add(Session("s1"));
        Assert.False(log.Writer.Flush());

        _store.Database.Execute("ALTER TABLE inbound_sessions_away RENAME TO inbound_sessions");
        Assert.True(log.Writer.Flush());
        Assert.Equal(1, _store.Count("inbound_sessions"));
    }
}
