using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>The refused-mail report's store queries (on SQLite, and on PostgreSQL with SECUREMX_TEST_STORE=postgresql).</summary>
public sealed class RefusedAttemptQueryTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Since = Now.AddDays(-30);

    private readonly SteppingTimeProvider _time = new(Now);
    private readonly TestStore _store;
    private readonly RefusedLogs _logs;
    private readonly RefusedAttemptRepository _refused;

    public RefusedAttemptQueryTests()
    {
        _store = new TestStore(_time).WithExampleData();
        _logs = new RefusedLogs(_store, _time);
        _refused = new RefusedAttemptRepository(_store.Database);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task OnlyMandatoryTlsRefusalsOfTheDomainNewestFirstWithTheirSession()
    {
        var plain = _logs.Session(Now.AddDays(-2), "192.0.2.1", "mx.sender.test", reverseName: "mx.sender.test");
        RefusedLogs.Rcpt(plain, "a@sender.test", "alice@example.org");
        RefusedLogs.Rcpt(plain, "a@sender.test", "nobody@example.org", refusal: "unknown_recipient");
        RefusedLogs.Rcpt(plain, "a@sender.test", "bob@example.org", refusal: null);
        RefusedLogs.Rcpt(plain, "a@sender.test", "carol@other.test");
        var weak = _logs.Session(Now.AddDays(-1), "198.51.100.7", "weak.test", "TLSv1.2", RefusedLogs.Cbc12);
        RefusedLogs.Rcpt(weak, "", "bob@example.org");
        await _logs.WriteAsync();

        var list = _refused.Attempts("example.org", Since);

        Assert.Equal(2, list.Count);
        Assert.Equal(new RefusedAttempt(Now.AddDays(-1), "node1", "198.51.100.7", "weak.test", null, "", "bob@example.org", "TLSv1.2", RefusedLogs.Cbc12, RefusedLogs.Refusal), list[0]);
        Assert.Equal(new RefusedAttempt(Now.AddDays(-2), "node1", "192.0.2.1", "mx.sender.test", "mx.sender.test", "a@sender.test", "alice@example.org", null, null, RefusedLogs.Refusal), list[1]);
        Assert.Equal(TlsShortfall.Cipher, list[0].Lacked);
        Assert.Equal(TlsShortfall.NoTls, list[1].Lacked);
        Assert.Equal(3, _refused.Attempts(null, Since).Count);
        Assert.Single(_refused.Attempts("OTHER.test", Since));
        Assert.Empty(_refused.Attempts("org", Since));
    }

    [Fact]
    public async Task TheWindowAndTheLimitBoundTheList()
    {
        for (int i = 0; i < 5; i++)
        {
            RefusedLogs.Rcpt(_logs.Session(Now.AddDays(-i - 0.5), "192.0.2.1"), "a@sender.test", "alice@example.org");
        }
        RefusedLogs.Rcpt(_logs.Session(Now.AddDays(-31), "192.0.2.9"), "a@sender.test", "alice@example.org");
        await _logs.WriteAsync();

        Assert.Equal(5, _refused.Attempts("example.org", Since).Count);
        var two = _refused.Attempts("example.org", Since, limit: 2);
        Assert.Equal([Now.AddDays(-0.5), Now.AddDays(-1.5)], two.Select(a => a.At));
        var day = _refused.Attempts("example.org", Now.AddDays(-2), Now.AddDays(-1));
        Assert.Equal([Now.AddDays(-1.5)], day.Select(a => a.At));
    }

    [Fact]
    public async Task CountsPerSendingHostCoverTheWholeWindowMostFirst()
    {
        var a = _logs.Session(Now.AddDays(-3), "192.0.2.1", "old.helo.test");
        RefusedLogs.Rcpt(a, "a@sender.test", "alice@example.org");
        RefusedLogs.Rcpt(a, "a@sender.test", "bob@example.org", offsetSeconds: 1);
        var b = _logs.Session(Now.AddDays(-1), "192.0.2.1", "new.helo.test", reverseName: "mx.sender.test");
        RefusedLogs.Rcpt(b, "a@sender.test", "alice@example.org");
        var c = _logs.Session(Now.AddDays(-2), "2001:db8::7", null, "TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
        RefusedLogs.Rcpt(c, "x@y.test", "alice@example.org");
        await _logs.WriteAsync();

        var hosts = _refused.CountsPerHost("example.org", Since);

        Assert.Equal(2, hosts.Count);
        Assert.Equal(new RefusedSendingHost("192.0.2.1", "old.helo.test", "mx.sender.test", 3, Now.AddDays(-1)), hosts[0]);
        Assert.Equal(new RefusedSendingHost("2001:db8::7", null, null, 1, Now.AddDays(-2)), hosts[1]);
        Assert.Equal(TlsShortfall.Protocol, _refused.Attempts("example.org", Since).Single(x => x.ClientIp == "2001:db8::7").Lacked);
    }

    [Fact]
    public async Task CountsPerHostStopAtTheLimitAndTheTotalsCountEveryHostAndAttempt()
    {
        for (var i = 0; i < 5; i++)
        {
            var s = _logs.Session(Now.AddHours(-1 - i), $"2001:db8::{i + 1}");
            for (var n = 0; n <= i; n++) RefusedLogs.Rcpt(s, "a@sender.test", "alice@example.org", offsetSeconds: n);
        }
        await _logs.WriteAsync();

        var hosts = _refused.CountsPerHost("example.org", Since, limit: 2);
        var totals = _refused.Totals("example.org", Since);

        Assert.Equal(["2001:db8::5", "2001:db8::4"], hosts.Select(h => h.ClientIp));
        Assert.Equal(new RefusedTotals(5, 15), totals);
        Assert.Equal(3, totals.MoreHosts(hosts.Count));
        Assert.Equal(new RefusedTotals(0, 0), _refused.Totals("other.test", Since));
        Assert.Equal(5, _refused.CountsPerHost("example.org", Since).Count); // the default limit is MaxHosts
    }

    [Fact]
    public async Task DigestDomainsAreThoseWithTheSwitchOnAndRefusalsThatDay()
    {
        Assert.False(_refused.DigestOn("example.org"));
        Assert.True(_refused.SetDigest("example.org", true));
        Assert.True(_refused.SetDigest("other.test", true));
        Assert.False(_refused.SetDigest("not-hosted.test", true));
        Assert.True(_refused.DigestOn("example.org"));
        var s = _logs.Session(Now.AddDays(-1), "192.0.2.1");
        RefusedLogs.Rcpt(s, "a@sender.test", "alice@example.org");
        RefusedLogs.Rcpt(s, "a@sender.test", "carol@other.test", refusal: "unknown_recipient");
        await _logs.WriteAsync();

        Assert.Equal(["example.org"], _refused.DigestDomainsWithRefusals(Now.AddDays(-1.5), Now.AddDays(-0.5)));
        Assert.Empty(_refused.DigestDomainsWithRefusals(Now.AddDays(-0.5), Now));
        _refused.SetDigest("example.org", false);
        Assert.Empty(_refused.DigestDomainsWithRefusals(Now.AddDays(-1.5), Now));
    }
}
