using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// The directory snapshot gives, for every hot-path read, the answer the repositories' own queries
/// give on the same rows: mailboxes, aliases (and targets that are no mailbox), subaddress order,
/// unknown users and domains, the TLS switches, languages and the destination table.
/// </summary>
public sealed class DirectorySnapshotTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();

    public void Dispose() => _store.Dispose();

    private DirectorySnapshot Load() => DirectorySnapshot.Load(_store.Database, DateTimeOffset.UnixEpoch);

    private static readonly string[] Addresses =
    [
        "alice@example.org", "bob@example.org", "sales@example.org", "info@example.org", "nobody@example.org",
        "carol@other.test", "alice@other.test", "x@not-hosted.example", "postmaster@example.org",
    ];

    [Fact]
    public void EveryHotPathReadAnswersAsTheStoreDoes()
    {
        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        _store.Policies.SetDomainOutboundTls("other.test", OutboundTlsSetting.Mandatory, "test");
        _store.Policies.SetMailboxOutboundTls("bob@example.org", OutboundTlsSetting.Mandatory, "test");
        _store.Mailboxes.SetMailboxLanguage("carol@other.test", MailLanguage.German);
        _store.Policies.SetDestinationTls("bank.example", OutboundTlsLevel.Verify, "test");
        _store.Database.Execute("INSERT INTO tls_destinations(domain, level, updated_at) VALUES('odd.example', 'no-such-level', 0)");
        var snapshot = Load();

        foreach (var address in Addresses)
        {
            var domain = address[(address.IndexOf('@') + 1)..];
            Assert.Equal(_store.Mailboxes.ResolveLocal(address), snapshot.Resolve(address).Targets);
            Assert.Equal(_store.Mailboxes.MailboxLanguage(address), snapshot.MailboxLanguage(address));
            Assert.Equal(_store.Policies.MailboxOutboundTls(address), snapshot.MailboxOutboundTls(address));
            Assert.Equal(_store.Mailboxes.IsHosted(domain), snapshot.IsHosted(domain));
            Assert.Equal(_store.Policies.DomainInboundTls(domain), snapshot.DomainInboundTls(domain));
            Assert.Equal(_store.Policies.DomainOutboundTls(domain), snapshot.DomainOutboundTls(domain));
            foreach (var account in new[] { "alice@example.org", "bob@example.org", "carol@other.test" })
                Assert.Equal(_store.Mailboxes.AddressBelongsTo(address, account), snapshot.AddressBelongsTo(address, account));
            AssertSameLookup(_store.Mailboxes.LookupRecipient(domain, [address]), snapshot.LookupRecipient(domain, [address]));
        }
        foreach (var destination in new[] { "bank.example", "odd.example", "other.example" })
            Assert.Equal(_store.Policies.DestinationTls(destination), snapshot.DestinationTls(destination));
    }

    [Fact]
    public void TheFirstCandidateThatNamesSomethingWinsAsInTheStore()
    {
        var snapshot = Load();
        string[] candidates = ["sales+news@example.org", "sales@example.org"];
        var cached = snapshot.LookupRecipient("example.org", candidates);
        AssertSameLookup(_store.Mailboxes.LookupRecipient("example.org", candidates), cached);
        Assert.Equal("sales@example.org", cached!.Match);
        Assert.True(cached.IsAlias);
        Assert.Equal(["alice@example.org", "bob@example.org"], cached.Targets.Select(t => t.Address));
    }

    [Fact]
    public void AnAliasTargetThatIsNoMailboxIsDroppedAsTheStoresJoinDrops()
    {
        // Written past the repository's check, as an older version or psql could have.
        _store.Database.Execute("INSERT INTO aliases(address, domain, target, created_at) VALUES('old@example.org', 'example.org', 'gone@example.org', 0)");
        var snapshot = Load();
        AssertSameLookup(_store.Mailboxes.LookupRecipient("example.org", ["old@example.org"]), snapshot.LookupRecipient("example.org", ["old@example.org"]));
        Assert.Null(snapshot.LookupRecipient("example.org", ["old@example.org"])!.Match);
    }

    [Fact]
    public void ASnapshotIsNotChangedByLaterWrites()
    {
        var snapshot = Load();
        _store.Mailboxes.AddMailbox("dave", "example.org", "x");
        _store.Mailboxes.AddDomain("new.example");
        Assert.Empty(snapshot.Resolve("dave@example.org").Targets);
        Assert.False(snapshot.IsHosted("new.example"));
        Assert.True(Load().IsHosted("new.example"));
    }

    private static void AssertSameLookup(RecipientLookup? expected, RecipientLookup? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(expected.InboundTls, actual.InboundTls);
        Assert.Equal(expected.Match, actual.Match);
        Assert.Equal(expected.IsAlias, actual.IsAlias);
        Assert.Equal(expected.Targets.OrderBy(t => t.Address), actual.Targets.OrderBy(t => t.Address));
    }
}
