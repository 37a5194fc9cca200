using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>When the digest service runs: 5 minutes past every hour (the first after midnight sends the day that ended).</summary>
public sealed class RefusedDigestServiceTests
{
    [Theory]
    [InlineData("2026-06-01T23:59:00Z", "2026-06-02T00:05:00Z")]
    [InlineData("2026-06-02T00:04:59Z", "2026-06-02T00:05:00Z")]
    [InlineData("2026-06-02T00:05:00Z", "2026-06-02T01:05:00Z")]
    [InlineData("2026-06-02T10:30:00Z", "2026-06-02T11:05:00Z")]
    public void TheNextRunIsFiveMinutesPastTheNextHour(string now, string next)
    {
        var t = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.Parse(next, System.Globalization.CultureInfo.InvariantCulture), t + RefusedDigestService.UntilNextRun(t));
    }

    private sealed class ThrowingArrivals : IMessageArrivalSink
    {
        public void MessageArrived(string messageId) => throw new NotSupportedException("a fault of the test");
    }

    [Fact]
    public async Task ARunThatFailsOtherwiseThanByTheStoreIsLoggedAndDoesNotEndTheService()
    {
        var day = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new SteppingTimeProvider(day.AddDays(1).AddMinutes(5));
        using var dir = new TempDirectory();
        using var store = new TestStore(time).WithExampleData();
        var spool = new MessageSpool(dir.Combine("spool"), time, NullLogger.Instance);
        try
        {
            var refused = new RefusedAttemptRepository(store.Database);
            store.Roles.AddDomainAdmin("example.org", "alice@example.org", "test");
            refused.SetDigest("example.org", true);
            var logs = new RefusedLogs(store, time);
            RefusedLogs.Rcpt(logs.Session(day.AddHours(10), "192.0.2.1", "h.test"), "a@sender.test", "bob@example.org");
            await logs.WriteAsync();
            var options = new SecureMxOptions { Hostname = "mx.provider.test" };
            var digest = new RefusedMailDigest(refused, store.Roles, new ReportSendRepository(store.Database), spool, new ThrowingArrivals(),
                RecipientRouter.For(store.Mailboxes, options), options, "node1", time, NullLogger.Instance);

            await new RefusedDigestService(digest, time, NullLogger<RefusedDigestService>.Instance).RunOnceAsync(TestContext.Current.CancellationToken);

            Assert.Single(spool.Queue.ListAll()); // the digest went in; what failed after it was logged, not thrown
        }
        finally
        {
            using (var c = spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
            spool.Dispose();
        }
    }
}
