using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>The store queries behind the readiness preview: what they count, for whom, over which time.</summary>
public sealed class ReadinessQueryTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Since = Now.AddDays(-30);

    private readonly SteppingTimeProvider _time = new(Now);
    private readonly TestStore _store;
    private readonly ReadinessLogs _logs;

    public ReadinessQueryTests()
    {
        _store = new TestStore(_time);
        _logs = new ReadinessLogs(_store, _time);
    }

    public void Dispose() => _store.Dispose();

    private ReadinessQueries Store => _store.Readiness;

    [Fact]
    public async Task InboundGroupsAcceptedRecipientsByHostSenderDomainAndTls()
    {
        var a = _logs.Session(Now.AddDays(-3), "192.0.2.1", "mx.sender.test", "TLSv1.2", ReadinessLogs.Cbc12);
        ReadinessLogs.Recipient(a, "sender.test", "example.org");
        ReadinessLogs.Recipient(a, "sender.test", "example.org");
        var b = _logs.Session(Now.AddDays(-1), "192.0.2.1", "mx.sender.test", "TLSv1.2", ReadinessLogs.Cbc12);
        ReadinessLogs.Recipient(b, "sender.test", "example.org");
        var c = _logs.Session(Now.AddDays(-2), "192.0.2.1", "mx.sender.test", "TLSv1.2", ReadinessLogs.Cbc12);
        ReadinessLogs.Recipient(c, "other-sender.test", "example.org");
        var plain = _logs.Session(Now.AddDays(-2), "198.51.100.7", null, null, null);
        ReadinessLogs.Recipient(plain, null, "example.org");
        await _logs.WriteSessionsAsync();

        var groups = Store.InboundReadinessGroups("example.org", Since).OrderBy(g => g.ClientIp).ThenBy(g => g.MailFromDomain).ToList();

        Assert.Equal(3, groups.Count);
        Assert.Equal(new InboundReadinessGroup("192.0.2.1", "mx.sender.test", "other-sender.test", "TLSv1.2", ReadinessLogs.Cbc12, 1, 1, Now.AddDays(-2)), groups[0]);
        Assert.Equal(new InboundReadinessGroup("192.0.2.1", "mx.sender.test", "sender.test", "TLSv1.2", ReadinessLogs.Cbc12, 3, 2, Now.AddDays(-1)), groups[1]);
        Assert.Equal(new InboundReadinessGroup("198.51.100.7", null, null, null, null, 1, 1, Now.AddDays(-2)), groups[2]);
    }

    [Fact]
    public async Task InboundCountsNeitherRefusedRecipientsNorOtherDomains()
    {
        var s = _logs.Session(Now.AddDays(-1), "192.0.2.1", "h.test", null, null);
        ReadinessLogs.Recipient(s, "sender.test", "example.org");
        ReadinessLogs.Recipient(s, "sender.test", "example.org", accepted: false);
        ReadinessLogs.Recipient(s, "sender.test", "other.test");
        ReadinessLogs.Recipient(s, "sender.test", "example.org.evil.test");
        await _logs.WriteSessionsAsync();

        var g = Assert.Single(Store.InboundReadinessGroups("example.org", Since));
        Assert.Equal(1, g.Recipients);
        Assert.Equal(1, Assert.Single(Store.InboundReadinessGroups("other.test", Since)).Recipients);
        Assert.Empty(Store.InboundReadinessGroups("org", Since));
    }

    [Fact]
    public async Task InboundLeavesOutSubmissionSessionsButCountsBothMxListeners()
    {
        foreach (var (listener, ip) in new[] { ("mx", "192.0.2.1"), ("secureMx", "192.0.2.2"), ("submission", "192.0.2.3"), ("submissions", "192.0.2.4") })
        {
            var s = _logs.Session(Now.AddDays(-1), ip, "h.test", "TLSv1.3", ReadinessLogs.Strict13, listener);
            ReadinessLogs.Recipient(s, "example.org", "example.org");
        }
        await _logs.WriteSessionsAsync();

        var ips = Store.InboundReadinessGroups("example.org", Since).Select(g => g.ClientIp).Order().ToList();
        Assert.Equal(["192.0.2.1", "192.0.2.2"], ips);
    }

    [Fact]
    public async Task InboundCountsRowsFromSinceOnward()
    {
        var s = _logs.Session(Now.AddDays(-29), "192.0.2.1", "h.test", null, null);
        ReadinessLogs.Recipient(s, "sender.test", "example.org");
        await _logs.WriteSessionsAsync();
        Assert.Single(Store.InboundReadinessGroups("example.org", Since));

        Assert.Empty(Store.InboundReadinessGroups("example.org", Now.AddDays(-29).AddMilliseconds(1)));
    }

    [Fact]
    public void OutboundDomainScopeIsSenderOrLoginInTheDomainIgnoringCase()
    {
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", "alice@example.org", "x@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "Bob@Example.ORG", null, "y@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "someone@elsewhere.test", "carol@example.org", "z@remote.test", "mx.remote.test", null, null); // login in the domain
        _logs.Delivery(Now.AddDays(-1), "carol@other.test", "carol@other.test", "w@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "dave@sub.example.org", null, "v@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "", null, "u@remote.test", "mx.remote.test", null, null); // bounce

        var data = Store.OutboundReadiness("example.org", "+", Since);

        Assert.Equal(3, data.Recipients);
        Assert.Equal(3, Assert.Single(data.Groups).Recipients);
        Assert.Equal(1, Store.OutboundReadiness("other.test", "+", Since).Recipients);
    }

    [Fact]
    public void OutboundDomainScopeTreatsLikeWildcardsInTheDomainLiterally()
    {
        _logs.Delivery(Now.AddDays(-1), "alice@axb.test", null, "x@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "alice@a%b.test", null, "y@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "alice@a_b.test", null, "z@remote.test", "mx.remote.test", null, null);

        Assert.Equal(1, Store.OutboundReadiness("a_b.test", "+", Since).Recipients);
        Assert.Equal(1, Store.OutboundReadiness("a%b.test", "+", Since).Recipients);
        Assert.Equal(0, Store.OutboundReadiness("a\\b.test", "+", Since).Recipients);
    }

    [Fact]
    public void OutboundAccountScopeIsTheLoginElseTheSenderOrItsSubaddress()
    {
        _logs.Delivery(Now.AddDays(-1), "sales@example.org", "alice@example.org", "r1@remote.test", "mx.remote.test", null, null); // login, alias sender
        _logs.Delivery(Now.AddDays(-1), "Alice@example.org", null, "r2@remote.test", "mx.remote.test", null, null); // no login
        _logs.Delivery(Now.AddDays(-1), "alice+news@example.org", null, "r3@remote.test", "mx.remote.test", null, null); // subaddress
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", "bob@example.org", "r4@remote.test", "mx.remote.test", null, null); // bob's login
        _logs.Delivery(Now.AddDays(-1), "alicex@example.org", null, "r5@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-1), "alice+x@example.org.test", null, "r6@remote.test", "mx.remote.test", null, null);

        Assert.Equal(3, Store.OutboundReadiness("alice@example.org", "+", Since).Recipients);
        Assert.Equal(2, Store.OutboundReadiness("alice@example.org", "", Since).Recipients); // subaddresses off
        Assert.Equal(1, Store.OutboundReadiness("bob@example.org", "+", Since).Recipients);
    }

    [Fact]
    public void OutboundLeavesOutLocalDeliveriesAndAttemptsThatReachedNoHost()
    {
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", null, "bob@example.org", "local", null, null);
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", null, "x@unreachable.test", null, null, null, result: "deferred");
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", null, "y@remote.test", "mx.remote.test", "TLSv1.3", ReadinessLogs.Strict13);

        var data = Store.OutboundReadiness("example.org", "+", Since);

        Assert.Equal((1L, 1L), (data.Recipients, data.SecureRecipients));
        Assert.Equal("mx.remote.test", Assert.Single(data.Groups).MxHost);
    }

    [Fact]
    public void OutboundGroupsByRecipientDomainHostAndTlsAndCountsEachRecipientOnce()
    {
        // m1: the first MX offers weak TLS (deferred), the second secure TLS: would have been delivered.
        var m1 = _logs.Delivery(Now.AddDays(-5), "alice@example.org", null, "a@Remote.TEST", "mx1.remote.test", "TLSv1.2", ReadinessLogs.Cbc12, result: "deferred");
        _logs.Delivery(Now.AddDays(-4), "alice@example.org", null, "a@Remote.TEST", "mx2.remote.test", "TLSv1.3", ReadinessLogs.Strict13, messageId: m1);
        // m2: plaintext twice at the same host: one recipient, two attempts, never secure.
        var m2 = _logs.Delivery(Now.AddDays(-3), "alice@example.org", null, "b@plain.test", "mx.plain.test", null, null, result: "deferred");
        _logs.Delivery(Now.AddDays(-2), "alice@example.org", null, "b@plain.test", "mx.plain.test", null, null, messageId: m2);
        // m3: the same host again, a different recipient.
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", null, "c@plain.test", "mx.plain.test", null, null);

        var data = Store.OutboundReadiness("example.org", "+", Since);

        Assert.Equal((3L, 1L), (data.Recipients, data.SecureRecipients));
        var groups = data.Groups.OrderBy(g => g.MxHost).ToList();
        Assert.Equal(3, groups.Count);
        Assert.Equal(new OutboundReadinessGroup("plain.test", "mx.plain.test", null, null, 3, 2, 2, Now.AddDays(-1)), groups[0]);
        Assert.Equal(new OutboundReadinessGroup("remote.test", "mx1.remote.test", "TLSv1.2", ReadinessLogs.Cbc12, 1, 1, 0, Now.AddDays(-5)), groups[1]);
        Assert.Equal(new OutboundReadinessGroup("remote.test", "mx2.remote.test", "TLSv1.3", ReadinessLogs.Strict13, 1, 1, 1, Now.AddDays(-4)), groups[2]);
    }

    [Fact]
    public void OutboundWindowEndsThirtyDaysBack()
    {
        _logs.Delivery(Now.AddDays(-31), "alice@example.org", null, "old@remote.test", "mx.remote.test", null, null);
        _logs.Delivery(Now.AddDays(-29), "alice@example.org", null, "new@remote.test", "mx.remote.test", "TLSv1.3", ReadinessLogs.Strict13);

        var data = Store.OutboundReadiness("example.org", "+", Since);

        Assert.Equal((1L, 1L), (data.Recipients, data.SecureRecipients));
        Assert.Equal("TLSv1.3", Assert.Single(data.Groups).TlsProtocol);
    }

    [Fact]
    public void OutboundReadsRowsStillWaitingInTheWriteBehindBuffer()
    {
        _logs.Delivery(Now.AddDays(-1), "alice@example.org", null, "x@remote.test", "mx.remote.test", null, null);
        Assert.Equal(1, Store.OutboundReadiness("example.org", "+", Since).Recipients);
    }
}
