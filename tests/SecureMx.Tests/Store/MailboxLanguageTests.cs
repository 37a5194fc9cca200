using Microsoft.Data.Sqlite;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The language of the mail SecureMx sends each mailbox: a column of <c>mailboxes</c> added by a schema
/// step, 'en' for every mailbox that exists before it and every new one, changed only by an explicit choice.
/// </summary>
public sealed class MailboxLanguageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private string DatabasePath => _dir.Combine(StoreDatabase.FileName);

    [Fact]
    public void AStoreOfTheVersionBeforeGetsTheColumnAndItsMailboxesReadEnglish()
    {
        // The store as the previous version left it: every step but the language one, and a mailbox in it.
        // (Found by its text: later steps are appended after it.)
        int before = Array.FindIndex(StoreSchema.Migrations, m => m.Contains("ADD COLUMN language", StringComparison.Ordinal));
        Assert.True(before > 0);
        using (var c = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = string.Join("\n", StoreSchema.Migrations.Take(before)) + $"""
                
                PRAGMA user_version = {before};
                INSERT INTO domains(name, created_at) VALUES('a.test', 0);
                INSERT INTO mailboxes(address, domain, password_hash, maildir, created_at) VALUES('old@a.test', 'a.test', 'x', 'mail/a.test/old', 0);
                """;
            cmd.ExecuteNonQuery();
        }

        using var store = new TestStore(_dir.Path, TimeProvider.System, StoreBackend.Sqlite); // a SQLite file's migration

        Assert.Equal((long)StoreSchema.Migrations.Length, Convert.ToInt64(store.Database.Scalar("PRAGMA user_version")));
        Assert.Equal("en", store.Database.Scalar("SELECT language FROM mailboxes WHERE address='old@a.test'"));
        Assert.Equal(MailLanguage.English, store.Mailboxes.MailboxLanguage("old@a.test"));
        // The existing row is otherwise untouched, and the dovecot view still reads it.
        Assert.Equal("mail/a.test/old", Assert.Single(store.Mailboxes.ListMailboxes()).Maildir);
        store.Mailboxes.SetMailboxLanguage("old@a.test", MailLanguage.German);
        Assert.Equal(MailLanguage.German, store.Mailboxes.MailboxLanguage("old@a.test"));
    }

    [Fact]
    public void ANewMailboxIsEnglishUntilItChooses()
    {
        using var store = new TestStore(_dir.Path, TimeProvider.System, StoreBackend.Sqlite); // a SQLite file's migration
        store.Mailboxes.AddDomain("a.test");
        store.Mailboxes.AddMailbox("alice", "a.test", "x");
        store.Mailboxes.AddMailbox("bob", "a.test", "x");

        Assert.Equal(MailLanguage.English, store.Mailboxes.MailboxLanguage("alice@a.test"));
        store.Mailboxes.SetMailboxLanguage("alice@a.test", MailLanguage.German);
        Assert.Equal(MailLanguage.German, store.Mailboxes.MailboxLanguage("alice@a.test"));
        Assert.Equal(MailLanguage.English, store.Mailboxes.MailboxLanguage("bob@a.test"));
        Assert.Equal("de", store.Database.Scalar("SELECT language FROM mailboxes WHERE address='alice@a.test'"));
        store.Mailboxes.SetMailboxLanguage("alice@a.test", MailLanguage.English);
        Assert.Equal(MailLanguage.English, store.Mailboxes.MailboxLanguage("alice@a.test"));
    }

    [Fact]
    public void AMailboxThatDoesNotExistHasNoLanguageAndCannotGetOne()
    {
        using var store = new TestStore(_dir.Path, TimeProvider.System, StoreBackend.Sqlite); // a SQLite file's migration
        Assert.Null(store.Mailboxes.MailboxLanguage("nobody@a.test"));
        Assert.Contains("does not exist", Assert.Throws<StoreException>(() => store.Mailboxes.SetMailboxLanguage("nobody@a.test", MailLanguage.German)).Message);
    }

    [Fact]
    public void AWordThisVersionDoesNotKnowReadsAsEnglish()
    {
        using var store = new TestStore(_dir.Path, TimeProvider.System, StoreBackend.Sqlite); // a SQLite file's migration
        store.Mailboxes.AddDomain("a.test");
        store.Mailboxes.AddMailbox("alice", "a.test", "x");
        store.Database.Execute("UPDATE mailboxes SET language='fr' WHERE address='alice@a.test'");
        Assert.Equal(MailLanguage.English, store.Mailboxes.MailboxLanguage("alice@a.test"));
    }
}
