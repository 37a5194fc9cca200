using Npgsql;
using SecureMx.Store;

namespace SecureMx.Tests.Store;

/// <summary>StoreDatabase.IsUnreachable: a connection PostgreSQL closed is; a local file's I/O error (a full disk) is not.</summary>
public sealed class StoreUnreachableTests
{
    [Fact]
    public void ALocalIoErrorSuchAsAFullDiskIsNotAnUnreachableStore()
    {
        Assert.False(StoreDatabase.IsUnreachable(new IOException("No space left on device")));
        Assert.False(StoreDatabase.IsUnreachable(new InvalidOperationException("write failed", new IOException("No space left on device"))));
    }

    [Fact]
    public void AConnectionPostgreSqlClosedMidReplyIsUnreachable()
    {
        Assert.True(StoreDatabase.IsUnreachable(new NpgsqlException("Exception while reading from stream", new IOException("Unable to read data from the transport connection"))));
    }
}
