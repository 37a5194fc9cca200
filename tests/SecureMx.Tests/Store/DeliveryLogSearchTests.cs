using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>The dashboard's delivery log search: scope, each filter, LIKE escaping, limit and order.</summary>
public sealed class DeliveryLogSearchTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TestStore _store = new();
    private int _n;

    public void Dispose() => _store.Dispose();

    private DeliveryLogRepository Store => _store.DeliveryLog;

    /// <summary>One row per call, each a minute later than the one before; the message id numbers them.</summary>
    private void Add(string sender, string recipient, string? account = null, string result = "delivered", string verification = "encrypted",
        DateTimeOffset? at = null)
    {
        var n = _n++;
        Store.Append([new DeliveryLogEntry(at ?? T0.AddMinutes(n), $"M{n}", sender, account, recipient, "mx.dest.test", "192.0.2.1",
            result, 250, "2.0.0", "ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", verification)]);
    }

    private List<string> Ids(DeliveryLogQuery q) => Store.Search(q).Select(e => e.MessageId).ToList();

    [Fact]
    public void WithoutScopeOrFiltersReturnsEveryRowNewestFirst()
    {
        Add("a@x.test", "r@y.test");
        Add("b@x.test", "r@y.test");
        Add("c@x.test", "r@y.test");

        Assert.Equal(["M2", "M1", "M0"], Ids(new DeliveryLogQuery()));
    }

    [Fact]
    public void RowsOfTheSameMillisecondComeNewestWrittenFirst()
    {
        Add("a@x.test", "r@y.test", at: T0);
        Add("b@x.test", "r@y.test", at: T0);

        Assert.Equal(["M1", "M0"], Ids(new DeliveryLogQuery()));
    }

    [Fact]
    public void LimitKeepsTheNewestRows()
    {
        for (int i = 0; i < 5; i++) Add("a@x.test", "r@y.test");

        Assert.Equal(["M4", "M3"], Ids(new DeliveryLogQuery { Limit = 2 }));
    }

    [Fact]
    public void TheMtaStsVerificationFiltersAndTheMtaStsFailureComesBack()
    {
        Add("a@x.test", "r@y.test", verification: "mta-sts");
        Store.Append([new DeliveryLogEntry(T0.AddMinutes(_n++), "M1", "b@x.test", null, "r@y.test", "mx.dest.test", "192.0.2.1",
            "delivered", 250, "2.0.0", "ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "encrypted") { MtaStsFailure = "validation-failure: mx.dest.test is not listed" }]);

        Assert.Equal(["M0"], Ids(new DeliveryLogQuery { Verification = "mta-sts" }));
        Assert.Equal("validation-failure: mx.dest.test is not listed", Store.Search(new DeliveryLogQuery { Verification = "encrypted" }).Single().MtaStsFailure);
        Assert.Equal([null, "validation-failure: mx.dest.test is not listed"], Store.Query(null, null, null, 10).Select(e => e.MtaStsFailure).ToList());
    }

    [Fact]
    public void RowsNotYetFlushedAreFound()
    {
        Add("a@x.test", "r@y.test"); // appended to the write-behind buffer, no flush in between

        Assert.Single(Store.Search(new DeliveryLogQuery()));
    }

    [Fact]
    public void AccountScopeMatchesTheSubmittingAccountOrTheEnvelopeSenderWithoutCase()
    {
        Add("alice@example.org", "r@y.test", account: "alice@example.org"); // M0
        Add("Alice@example.org", "r@y.test");                               // M1 sender only, other case
        Add("list@lists.test", "r@y.test", account: "alice@example.org");   // M2 submitted by alice, other sender
        Add("bob@example.org", "r@y.test", account: "bob@example.org");     // M3
        Add("xalice@example.org", "r@y.test");                              // M4 not alice

        Assert.Equal(["M2", "M1", "M0"], Ids(new DeliveryLogQuery { Accounts = ["alice@example.org"], SenderDomains = [] }));
    }

    [Fact]
    public void DomainScopeMatchesSendersOfThatDomainOnly()
    {
        Add("bob@example.org", "r@y.test");         // M0
        Add("bob@sub.example.org", "r@y.test");     // M1 subdomain
        Add("bob@example.org.evil.test", "r@y.test"); // M2
        Add("bob@notexample.org", "r@y.test");      // M3
        Add("carol@other.test", "r@y.test", account: "carol@other.test"); // M4
        Add("", "r@y.test");                        // M5 null sender

        Assert.Equal(["M0"], Ids(new DeliveryLogQuery { Accounts = [], SenderDomains = ["example.org"] }));
        Assert.Equal(["M4", "M0"], Ids(new DeliveryLogQuery { Accounts = ["carol@other.test"], SenderDomains = ["example.org"] }));
    }

    [Fact]
    public void EmptyScopeMatchesNothing()
    {
        Add("a@x.test", "r@y.test", account: "a@x.test");

        Assert.Empty(Ids(new DeliveryLogQuery { Accounts = [], SenderDomains = [] }));
    }

    [Fact]
    public void LikeWildcardsInADomainMatchOnlyThemselves()
    {
        Add("a@example.org", "r@example.org");   // M0
        Add("b@ex_mple.org", "r@ex_mple.org");   // M1
        Add("c@ex%.org", "r@ex%.org");           // M2

        Assert.Equal(["M1"], Ids(new DeliveryLogQuery { SenderDomains = ["ex_mple.org"], Accounts = [] }));
        Assert.Equal(["M1"], Ids(new DeliveryLogQuery { SenderDomain = "ex_mple.org" }));
        Assert.Equal(["M1"], Ids(new DeliveryLogQuery { Recipient = "ex_mple.org" }));
        Assert.Equal(["M2"], Ids(new DeliveryLogQuery { SenderDomain = "ex%.org" }));
        Assert.Empty(Ids(new DeliveryLogQuery { SenderDomain = "%" }));
        Assert.Empty(Ids(new DeliveryLogQuery { Recipient = "_xample.org" }));
    }

    [Fact]
    public void FiltersNarrowTheScopeAndNeverWidenIt()
    {
        Add("alice@example.org", "r@y.test", account: "alice@example.org"); // M0
        Add("carol@other.test", "r@y.test", account: "carol@other.test");   // M1
        Add("bob@example.org", "r@y.test", account: "bob@example.org");     // M2

        var scope = new DeliveryLogQuery { Accounts = ["alice@example.org"], SenderDomains = [] };
        Assert.Empty(Ids(scope with { Account = "carol@other.test" }));
        Assert.Empty(Ids(scope with { SenderDomain = "other.test" }));
        Assert.Equal(["M0"], Ids(scope with { SenderDomain = "example.org" }));
    }

    [Fact]
    public void AccountFilterMatchesAccountOrSender()
    {
        Add("bob@example.org", "r@y.test");                                // M0
        Add("list@lists.test", "r@y.test", account: "bob@example.org");    // M1
        Add("alice@example.org", "r@y.test", account: "alice@example.org"); // M2

        Assert.Equal(["M1", "M0"], Ids(new DeliveryLogQuery { Account = "bob@example.org" }));
    }

    [Fact]
    public void RecipientFilterIsAnExactAddressOrADomain()
    {
        Add("a@x.test", "carol@other.test");   // M0
        Add("a@x.test", "dave@other.test");    // M1
        Add("a@x.test", "carol@sub.other.test"); // M2

        Assert.Equal(["M0"], Ids(new DeliveryLogQuery { Recipient = "carol@other.test" }));
        Assert.Equal(["M0"], Ids(new DeliveryLogQuery { Recipient = "Carol@Other.test" }));
        Assert.Equal(["M1", "M0"], Ids(new DeliveryLogQuery { Recipient = "other.test" }));
        Assert.Empty(Ids(new DeliveryLogQuery { Recipient = "arol@other.test" }));
    }

    [Fact]
    public void VerificationAndResultFilterExactly()
    {
        Add("a@x.test", "r@y.test", verification: "none", result: "deferred");     // M0
        Add("a@x.test", "r@y.test", verification: "dane", result: "delivered");    // M1
        Add("a@x.test", "r@y.test", verification: "verified", result: "delivered"); // M2
        Add("a@x.test", "r@y.test", verification: "none", result: "failed");       // M3

        Assert.Equal(["M3", "M0"], Ids(new DeliveryLogQuery { Verification = "none" }));
        Assert.Equal(["M1"], Ids(new DeliveryLogQuery { Verification = "dane" }));
        Assert.Equal(["M2", "M1"], Ids(new DeliveryLogQuery { Result = "delivered" }));
        Assert.Equal(["M3"], Ids(new DeliveryLogQuery { Verification = "none", Result = "failed" }));
    }

    [Fact]
    public void LocalFilterFindsLocalDeliveriesOldAndNewAndNoneFindsNeither()
    {
        Add("a@x.test", "r@y.test", verification: "none"); // M0: plaintext to a remote server
        var n = _n;
        Store.Append([
            // M1: as written before verification "local"; M2: as written now.
            new DeliveryLogEntry(T0.AddMinutes(n), "M1", "a@x.test", null, "r@x.test", "local", null, "delivered", 250, "2.0.0", "delivered to maildir", null, null, "none"),
            new DeliveryLogEntry(T0.AddMinutes(n + 1), "M2", "a@x.test", null, "r@x.test", "local", null, "delivered", 250, "2.0.0", "delivered to maildir", null, null, "local"),
        ]);

        Assert.Equal(["M2", "M1"], Ids(new DeliveryLogQuery { Verification = DeliveryLogEntry.Local }));
        Assert.Equal(["M0"], Ids(new DeliveryLogQuery { Verification = "none" }));
        Assert.All(Store.Search(new DeliveryLogQuery { Verification = DeliveryLogEntry.Local }), e => Assert.True(e.IsLocal));
    }

    [Fact]
    public void SinceIncludesItsOwnInstantAndLaterRows()
    {
        Add("a@x.test", "r@y.test"); // T0
        Add("a@x.test", "r@y.test"); // T0 + 1 min
        Add("a@x.test", "r@y.test"); // T0 + 2 min

        Assert.Equal(["M2", "M1"], Ids(new DeliveryLogQuery { Since = T0.AddMinutes(1) }));
    }
}
