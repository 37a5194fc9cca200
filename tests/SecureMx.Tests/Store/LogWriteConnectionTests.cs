using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The log writers' own connection: a batch that fails drops it, and the next batch opens a new one
/// (with PostgreSQL a broken connection must be replaced after the server comes back, not reused).
/// </summary>
public sealed class LogWriteConnectionTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void AConnectionIsKeptAcrossBatchesWhileTheyWork()
    {
        using var log = new LogWriteConnection(_store.Database);
        StoreConnection? first = null, second = null;
        log.InTransaction(c => first = c);
        log.InTransaction(c => second = c);
        Assert.Same(first, second);
    }

    [Fact]
    public void AfterAFailedBatchTheNextOneRunsOnANewConnectionAndIsWritten()
    {
        using var log = new LogWriteConnection(_store.Database);
        StoreConnection? broken = null, next = null;
        Assert.Throws<IOException>(() => log.InTransaction(c =>
        {
            broken = c;
            c.Execute("INSERT INTO login_failures(kind, key, at) VALUES('ip', 'lost', 1)");
            throw new IOException("connection reset by peer");
        }));
        log.InTransaction(c =>
        {
            next = c;
            c.Execute("INSERT INTO login_failures(kind, key, at) VALUES('ip', 'kept', 2)");
        });

        Assert.NotSame(broken, next);
        // The failed batch was rolled back with its connection; the next one is committed.
        Assert.Equal("kept", Assert.Single(_store.Database.Rows("SELECT key FROM login_failures", r => r.GetString(0))));
    }
}
