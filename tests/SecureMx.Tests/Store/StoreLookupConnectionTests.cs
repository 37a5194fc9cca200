using Microsoft.Data.Sqlite;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The store's connections for the lookups of the mail path (<see cref="StoreDatabase.ConnectForLookups"/>): on
/// SQLite kept open with their statements prepared, yet reading every change at once, given up by
/// <see cref="StoreDatabase.ReleasePooledConnections"/>, and never kept after a failure.
/// </summary>
public sealed class StoreLookupConnectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly StoreDatabase _db;
    private readonly MailboxRepository _mailboxes;

    public StoreLookupConnectionTests()
    {
        _db = StoreDatabase.OpenMigrated(_dir.Path);
        _mailboxes = new MailboxRepository(_db, TimeProvider.System);
        _mailboxes.AddDomain("a.test");
    }

    public void Dispose()
    {
        _db.ReleasePooledConnections();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>Marks the connection a lookup gets now (a temporary table lives as long as its connection).</summary>
    private void MarkLookupConnection()
    {
        using var c = _db.ConnectForLookups();
        c.Execute("CREATE TEMP TABLE marker(x)");
    }

    private bool LookupConnectionIsMarked()
    {
        using var c = _db.ConnectForLookups();
        return c.Scalar("SELECT COUNT(*) FROM temp.sqlite_master WHERE name='marker'") is 1L;
    }

    [Fact]
    public void ALookupConnectionGivenBackIsTheOneTheNextLookupGets()
    {
        MarkLookupConnection();

        Assert.True(LookupConnectionIsMarked());
        using var plain = _db.Connect(); // Connect still opens a connection of its own
        Assert.Equal(0L, plain.Scalar("SELECT COUNT(*) FROM temp.sqlite_master WHERE name='marker'"));
    }

    [Fact]
    public void AKeptConnectionReadsAChangeMadeAfterItsLastLookup()
    {
        Assert.Null(_mailboxes.LookupRecipient("a.test", ["one@a.test"])!.Match);
        Assert.Null(_mailboxes.LookupRecipient("b.test", ["one@b.test"]));

        _mailboxes.AddMailbox("one", "a.test", "x");
        _mailboxes.AddDomain("b.test");

        var found = _mailboxes.LookupRecipient("a.test", ["one@a.test"]);
        Assert.Equal("one@a.test", found!.Match);
        Assert.Equal("mail/a.test/one", Assert.Single(found.Targets).Maildir);
        Assert.NotNull(_mailboxes.LookupRecipient("b.test", ["one@b.test"]));
    }

    [Fact]
    public void ReleasingPooledConnectionsLetsTheNextLookupReadAStoreFileThatReplacedTheOld()
    {
        Assert.Null(_mailboxes.LookupRecipient("a.test", ["two@a.test"])!.Match); // a kept connection on the old file

        // Another store with the mailbox, moved in place of this one (as a restore puts a file back).
        using var other = new TempDirectory();
        var otherDb = StoreDatabase.OpenMigrated(other.Path);
        var otherMailboxes = new MailboxRepository(otherDb, TimeProvider.System);
        otherMailboxes.AddDomain("a.test");
        otherMailboxes.AddMailbox("two", "a.test", "x");
        otherDb.ReleasePooledConnections();
        _db.ReleasePooledConnections();
        foreach (var suffix in new[] { "-wal", "-shm" }) File.Delete(_dir.Combine(StoreDatabase.FileName + suffix));
        File.Move(other.Combine(StoreDatabase.FileName), _dir.Combine(StoreDatabase.FileName), overwrite: true);

        Assert.Equal("two@a.test", _mailboxes.LookupRecipient("a.test", ["two@a.test"])!.Match);
    }

    [Fact]
    public void AConnectionLentOutWhenPooledConnectionsAreReleasedIsClosedWhenGivenBack()
    {
        var lent = _db.ConnectForLookups();
        lent.Execute("CREATE TEMP TABLE marker(x)");
        _db.ReleasePooledConnections();
        lent.Dispose();

        Assert.False(LookupConnectionIsMarked());
    }

    [Fact]
    public void AStatementThatFailsClosesItsConnectionInsteadOfKeepingIt()
    {
        MarkLookupConnection();
        using (var c = _db.ConnectForLookups())
            Assert.Throws<SqliteException>(() => c.Scalar("SELECT nothing FROM no_such_table"));

        Assert.False(LookupConnectionIsMarked());
        Assert.True(_mailboxes.IsHosted("a.test")); // and the next lookup works on a new one
    }

    [Fact]
    public void ATransactionLeftOpenIsRolledBackAndTheConnectionKept()
    {
        MarkLookupConnection();
        using (var c = _db.ConnectForLookups())
        {
            c.BeginWrite();
            c.Execute("INSERT INTO domains(name, created_at) VALUES('b.test', 0)");
        } // disposed without Commit

        Assert.False(_mailboxes.IsHosted("b.test"));
        Assert.True(LookupConnectionIsMarked());
        using var next = _db.ConnectForLookups();
        next.BeginWrite(); // no transaction is left on it: a new one begins
        next.Rollback();
    }

    [Fact]
    public void AStoreOpenedForReadingLooksUpOnItsReadOnlyConnections()
    {
        _mailboxes.AddMailbox("one", "a.test", "x");
        _db.ReleasePooledConnections();
        var readOnly = StoreDatabase.OpenForReading(_dir.Path);
        try
        {
            Assert.Equal("one@a.test", new MailboxRepository(readOnly, TimeProvider.System).LookupRecipient("a.test", ["one@a.test"])!.Match);
            using var c = readOnly.ConnectForLookups();
            Assert.Throws<SqliteException>(() => c.Execute("INSERT INTO domains(name, created_at) VALUES('c.test', 0)"));
        }
        finally
        {
            readOnly.ReleasePooledConnections();
        }
    }
}
