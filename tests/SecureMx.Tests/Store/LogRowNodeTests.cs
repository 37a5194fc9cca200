using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>Each delivery log and session log row names the node that wrote it (several nodes write one shared store).</summary>
public sealed class LogRowNodeTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void DeliveryLogRowsCarryTheWritersNode()
    {
        var at = DateTimeOffset.UtcNow;
        using (var mx2 = new DeliveryLogRepository(_store.Database, NullLogger.Instance, node: "mx2"))
        {
            mx2.Append([new DeliveryLogEntry(at, "0123456789ABCDEF", "alice@example.org", null, "bob@remote.test", "mx.remote.test", "192.0.2.1",
                "delivered", 250, "2.0.0", "ok", null, null, "none")]);
            mx2.Flush();
        }
        var row = Assert.Single(_store.DeliveryLog.Query(null, null, null, 10));
        Assert.Equal("mx2", row.Node);
        Assert.Equal("mx2", Assert.Single(_store.DeliveryLog.Search(new DeliveryLogQuery { Limit = 10 })).Node);
    }

    [Fact]
    public void SessionLogRowsCarryTheWritersNode()
    {
        using (var log = new SessionLogRepository(_store.Database, new LogOptions(), TimeProvider.System, NullLogger.Instance, node: "secure-1"))
        {
            log.Add(new InboundSessionRecord("0123456789ABCDEF", DateTimeOffset.UtcNow, "mx", "192.0.2.9") { EndedAt = DateTimeOffset.UtcNow });
            log.Writer.Flush();
        }
        Assert.Equal("secure-1", _store.Database.Scalar("SELECT node FROM inbound_sessions"));
    }
}
