using Microsoft.Data.Sqlite;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>A migrated <see cref="SecureMxStore"/> in its own temp directory, with example.org hosted.</summary>
public sealed class TestStore : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SecureMxStore Store { get; }

    public string DataDirectory => _dir.Path;

    public TestStore(TimeProvider? time = null)
    {
        Store = new SecureMxStore(_dir.Path, time ?? TimeProvider.System);
        Store.Migrate();
    }

    /// <summary>example.org with alice, bob, alias sales -> alice + bob, alias info -> alice; other.test with carol.</summary>
    public TestStore WithExampleData()
    {
        Store.AddDomain("example.org");
        Store.AddMailbox("alice", "example.org", "x");
        Store.AddMailbox("bob", "example.org", "x");
        Store.AddAlias("sales@example.org", "example.org", "alice@example.org");
        Store.AddAlias("sales@example.org", "example.org", "bob@example.org");
        Store.AddAlias("info@example.org", "example.org", "alice@example.org");
        Store.AddDomain("other.test");
        Store.AddMailbox("carol", "other.test", "x");
        return this;
    }

    public void Dispose()
    {
        using (var c = Store.Open()) SqliteConnection.ClearPool(c);
        _dir.Dispose();
    }
}
