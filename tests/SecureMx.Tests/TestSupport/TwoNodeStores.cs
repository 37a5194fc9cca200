using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>Two nodes' stores — each with a data directory of its own — on one fresh database of the private PostgreSQL.</summary>
public sealed class TwoNodeStores : IDisposable
{
    private readonly TempDirectory _dirA = new();
    private readonly TempDirectory _dirB = new();

    public StoreDatabase NodeA { get; }

    public StoreDatabase NodeB { get; }

    public string DirectoryA => _dirA.Path;

    public string DirectoryB => _dirB.Path;

    public TwoNodeStores()
    {
        var options = TestStore.NewPostgresStore();
        NodeA = StoreDatabase.Open(_dirA.Path, options);
        NodeB = StoreDatabase.Open(_dirB.Path, options);
    }

    public void Dispose()
    {
        NodeA.ReleasePooledConnections();
        NodeB.ReleasePooledConnections();
        _dirB.Dispose();
        _dirA.Dispose();
    }
}
