using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using SecureMx.Store;

namespace SecureMx.Tests.Store;

/// <summary>
/// What the mail path answers with a temporary failure because the store could not answer: every
/// database error and every way of PostgreSQL being unreachable — but not a file's error (the
/// spool's, a Maildir's, an original whose data is gone), which its own caller judges.
/// </summary>
public sealed class StoreUnavailableTests
{
    [Fact]
    public void DatabaseErrorsAndAnUnreachableServerCount()
    {
        Assert.True(StoreUnavailable.Is(new SqliteException("no such table: domains", 1)));
        Assert.True(StoreUnavailable.Is(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(StoreUnavailable.Is(new TimeoutException("connect timeout")));
        Assert.True(StoreUnavailable.Is(new SocketException((int)SocketError.ConnectionRefused)));
    }

    [Fact]
    public void AFilesErrorDoesNot()
    {
        Assert.False(StoreUnavailable.Is(new FileNotFoundException("spool/data/X")));
        Assert.False(StoreUnavailable.Is(new DirectoryNotFoundException("mail/example.org/alice/tmp")));
        Assert.False(StoreUnavailable.Is(new IOException("No space left on device")));
        Assert.False(StoreUnavailable.Is(new FormatException()));
    }
}
