using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>The readiness preview: who would be refused under mandatory TLS, from the last 30 days of logs.</summary>
public sealed class ReadinessPreviewTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly SteppingTimeProvider _time = new(Start);
    private readonly TestStore _store;
    private readonly ReadinessLogs _logs;
    private readonly ReadinessPreview _preview;

    public ReadinessPreviewTests()
    {
        _store = new TestStore(_time);
        _logs = new ReadinessLogs(_store, _time);
        _preview = new ReadinessPreview(_store.Readiness, new SecureMxOptions(), _time);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task InboundListsWeakAndPlaintextSendersAndCountsSecureOnesAsPassing()
    {
        var secure = _logs.Session(Start.AddDays(-1), "192.0.2.1", "secure.test", "TLSv1.3", ReadinessLogs.Strict13);
        for (int i = 0; i < 5; i++) ReadinessLogs.Recipient(secure, "secure.test", "example.org");
        var secure12 = _logs.Session(Start.AddDays(-1), "192.0.2.2", "secure12.test", "TLSv1.2", ReadinessLogs.Strict12);
        ReadinessLogs.Recipient(secure12, "secure12.test", "example.org");
        var cbc = _logs.Session(Start.AddDays(-2), "192.0.2.3", "cbc.test", "TLSv1.2", ReadinessLogs.Cbc12);
        ReadinessLogs.Recipient(cbc, "cbc.test", "example.org");
        ReadinessLogs.Recipient(cbc, "b.cbc.test", "example.org");
        var old = _logs.Session(Start.AddDays(-3), "192.0.2.4", "old.test", "TLSv1", ReadinessLogs.Strict13); // a good suite name is not enough
        ReadinessLogs.Recipient(old, "old.test", "example.org");
        var plain = _logs.Session(Start.AddDays(-4), "192.0.2.5", null, null, null);
        ReadinessLogs.Recipient(plain, null, "example.org");
        ReadinessLogs.Recipient(plain, null, "example.org");
        ReadinessLogs.Recipient(plain, null, "example.org");
        await _logs.WriteSessionsAsync();

        var report = _preview.Inbound("example.org");

        Assert.Equal((12L, 6L, 6L), (report.Total, report.Secure, report.WouldBeRefused));
        Assert.Equal(0, report.MoreRefused);
        Assert.Collection(report.Refused,
            s =>
            {
                Assert.Equal(("192.0.2.5", (string?)null, TlsGrade.None, 3L, 1L), (s.ClientIp, s.Helo, s.Grade, s.Recipients, s.Sessions));
                Assert.Equal([null], s.SenderDomains);
            },
            s =>
            {
                Assert.Equal(("192.0.2.3", "cbc.test", TlsGrade.Weak, "TLSv1.2", ReadinessLogs.Cbc12, 2L), (s.ClientIp, s.Helo, s.Grade, s.TlsProtocol, s.TlsCipher, s.Recipients));
                Assert.Equal(["b.cbc.test", "cbc.test"], s.SenderDomains);
                Assert.Equal(Start.AddDays(-2), s.LastSeen);
            },
            s => Assert.Equal(("192.0.2.4", TlsGrade.Weak, "TLSv1"), (s.ClientIp, s.Grade, s.TlsProtocol)));
    }

    [Fact]
    public async Task InboundWindowMovesWithTheClock()
    {
        var s = _logs.Session(Start, "192.0.2.9", "plain.test", null, null);
        ReadinessLogs.Recipient(s, "plain.test", "example.org");
        await _logs.WriteSessionsAsync();

        _time.MoveTo(Start.AddDays(29));
        Assert.Equal(1, _preview.Inbound("example.org").Total);

        _time.MoveTo(Start.AddDays(31));
        var report = _preview.Inbound("example.org");
        Assert.Equal(0, report.Total);
        Assert.Empty(report.Refused);
        Assert.Equal(Start.AddDays(1), report.Since);
    }

    [Fact]
    public async Task InboundShowsTheLargestSendersFirstAndCountsTheRest()
    {
        for (int i = 1; i <= ReadinessPreview.MaxRows + 5; i++)
        {
            var s = _logs.Session(Start.AddHours(-i), "10.0.0." + i, "h" + i + ".test", null, null);
            for (int n = 0; n < i; n++) ReadinessLogs.Recipient(s, "sender.test", "example.org");
        }
        await _logs.WriteSessionsAsync();

        var report = _preview.Inbound("example.org");

        Assert.Equal(ReadinessPreview.MaxRows, report.Refused.Count);
        Assert.Equal(5, report.MoreRefused);
        Assert.Equal("10.0.0.55", report.Refused[0].ClientIp);
        Assert.Equal("10.0.0.6", report.Refused[^1].ClientIp);
        Assert.Equal(report.Refused.Select(r => r.Recipients).OrderDescending(), report.Refused.Select(r => r.Recipients));
    }

    [Fact]
    public async Task InboundOfADomainWithoutMailIsEmptyAndOthersDoNotShow()
    {
        var s = _logs.Session(Start.AddDays(-1), "192.0.2.1", "h.test", null, null);
        ReadinessLogs.Recipient(s, "x.test", "other.test");
        await _logs.WriteSessionsAsync();

        var report = _preview.Inbound("example.org");
        Assert.Equal((0L, 0L), (report.Total, report.Secure));
        Assert.Empty(report.Refused);
    }

    [Fact]
    public void OutboundListsHostsWithoutSecureTlsAndCountsRecipientsThatWouldHaveWorked()
    {
        for (int i = 0; i < 37; i++) _logs.Delivery(Start.AddDays(-2), "alice@example.org", "alice@example.org", $"r{i}@good.test", "mx.good.test", "TLSv1.3", ReadinessLogs.Strict13);
        _logs.Delivery(Start.AddDays(-3), "alice@example.org", null, "a@weak.test", "mx.weak.test", "TLSv1.2", ReadinessLogs.Cbc12);
        _logs.Delivery(Start.AddDays(-1), "bob@example.org", null, "b@plain.test", "mx.plain.test", null, null);
        _logs.Delivery(Start.AddDays(-2), "bob@example.org", null, "c@plain.test", "mx.plain.test", null, null);
        _logs.Delivery(Start.AddDays(-1), "carol@other.test", null, "d@plain.test", "mx.plain.test", null, null);

        var report = _preview.Outbound("example.org");

        Assert.Equal((40L, 37L, 3L), (report.Total, report.Secure, report.WouldFail));
        Assert.Collection(report.Failing,
            f => Assert.Equal(new FailingDestination("plain.test", "mx.plain.test", TlsGrade.None, null, null, 2, 2, Start.AddDays(-1)), f),
            f => Assert.Equal(new FailingDestination("weak.test", "mx.weak.test", TlsGrade.Weak, "TLSv1.2", ReadinessLogs.Cbc12, 1, 1, Start.AddDays(-3)), f));

        var bob = _preview.Outbound("bob@example.org");
        Assert.Equal((2L, 0L), (bob.Total, bob.Secure));
        Assert.Equal("mx.plain.test", Assert.Single(bob.Failing).MxHost);
    }

    [Fact]
    public void OutboundTellsAHostWhoseStartTlsFailedFromAHostWithoutTlsAndGivesTheLatestReason()
    {
        _logs.Delivery(Start.AddDays(-3), "alice@example.org", null, "a@broken.test", "mx.broken.test", null, null, tlsFailure: "handshake failed: unsupported protocol");
        _logs.Delivery(Start.AddDays(-1), "alice@example.org", null, "b@broken.test", "mx.broken.test", null, null, tlsFailure: "timed out in the TLS handshake");
        _logs.Delivery(Start.AddDays(-2), "alice@example.org", null, "c@broken.test", "mx.broken.test", null, null);

        var report = _preview.Outbound("example.org");

        Assert.Equal((3L, 0L), (report.Total, report.Secure));
        Assert.Collection(report.Failing,
            f => Assert.Equal(new FailingDestination("broken.test", "mx.broken.test", TlsGrade.None, null, null, 2, 2, Start.AddDays(-1), "timed out in the TLS handshake"), f),
            f => Assert.Equal(new FailingDestination("broken.test", "mx.broken.test", TlsGrade.None, null, null, 1, 1, Start.AddDays(-2)), f));
    }

    [Fact]
    public void OutboundWindowMovesWithTheClock()
    {
        _logs.Delivery(Start, "alice@example.org", null, "a@plain.test", "mx.plain.test", null, null);

        _time.MoveTo(Start.AddDays(29));
        Assert.Single(_preview.Outbound("example.org").Failing);

        _time.MoveTo(Start.AddDays(31));
        var report = _preview.Outbound("example.org");
        Assert.Equal(0, report.Total);
        Assert.Empty(report.Failing);
    }

    [Fact]
    public void OutboundWithOnlySecureTlsHasNothingFailing()
    {
        _logs.Delivery(Start.AddDays(-1), "alice@example.org", null, "a@good.test", "mx.good.test", "TLSv1.2", ReadinessLogs.Strict12);

        var report = _preview.Outbound("alice@example.org");

        Assert.Equal((1L, 1L), (report.Total, report.Secure));
        Assert.Empty(report.Failing);
        Assert.Equal("ok", ReadinessPreview.StatusOf(report.Total, report.Secure));
    }

    [Theory]
    [InlineData(0, 0, "off")]
    [InlineData(40, 40, "ok")]
    [InlineData(40, 36, "warn")]
    [InlineData(40, 35, "bad")]
    [InlineData(1, 0, "bad")]
    public void SummaryColourGrowsWithTheShareThatWouldBeRefused(long total, long secure, string status) =>
        Assert.Equal(status, ReadinessPreview.StatusOf(total, secure));
}
