using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// The daily refused-mail digest: who gets it, when not, once per domain and day (the claim), what it
/// leaves out (what the digest itself caused), and a spool failure released for the next run.
/// </summary>
public sealed class RefusedMailDigestTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SteppingTimeProvider _time = new(Day.AddDays(1).AddMinutes(5));
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store;
    private readonly StorageFaultPlan _faults = new();
    private readonly ListLogger _log = new();
    private readonly MessageSpool _spool;
    private readonly RefusedLogs _logs;
    private readonly RefusedAttemptRepository _refused;
    private readonly ReportSendRepository _sends;
    private readonly SecureMxOptions _options = new() { Hostname = "mx.provider.test" };

    public RefusedMailDigestTests()
    {
        _store = new TestStore(_time).WithExampleData();
        _spool = new MessageSpool(_dir.Combine("spool"), _time, NullLogger.Instance, new DurableFiles(_faults));
        _logs = new RefusedLogs(_store, _time);
        _refused = new RefusedAttemptRepository(_store.Database);
        _sends = new ReportSendRepository(_store.Database);
        _store.Roles.AddDomainAdmin("example.org", "alice@example.org", "test");
        _store.Roles.AddDomainAdmin("example.org", "carol@other.test", "test");
        _refused.SetDigest("example.org", true);
    }

    public void Dispose()
    {
        using (var c = _spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        _spool.Dispose();
        _store.Dispose();
        _dir.Dispose();
    }

    private RefusedMailDigest Digest(string node = "node1", IMessageArrivalSink? arrivals = null) => new(_refused, _store.Roles, _sends, _spool, arrivals,
        new RecipientRouter(_store.Mailboxes, _options.Delivery), _options, node, _time, _log);

    private async Task RefusedAsync(params (double Hours, string Ip, string From, string To)[] attempts)
    {
        foreach (var (hours, ip, from, to) in attempts) RefusedLogs.Rcpt(_logs.Session(Day.AddHours(hours), ip, "h.test"), from, to);
        await _logs.WriteAsync();
    }

    private List<(Envelope Envelope, List<QueuedRecipient> Recipients)> Queued() => _spool.Queue.ListAll();

    private MimeMessage Message(string id)
    {
        using var data = _spool.OpenData(id);
        return MimeMessage.Load(data);
    }

    [Fact]
    public async Task TheDigestGoesToEveryDomainAdminsMaildirFromItsOwnSenderAutoSubmitted()
    {
        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"), (11, "192.0.2.1", "a@sender.test", "alice@example.org"),
            (12, "198.51.100.7", "", "bob@example.org"));

        var outcome = Assert.Single(await Digest().RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("queued", outcome.Result);
        var (envelope, recipients) = Assert.Single(Queued());
        Assert.Equal(outcome.QueueId, envelope.Id);
        Assert.Equal("refused-digest-noreply@mx.provider.test", envelope.Sender);
        Assert.Equal(["alice@example.org", "carol@other.test"], recipients.Select(r => r.Recipient.Address).Order());
        Assert.All(recipients, r => Assert.Equal(RecipientRoute.Local, r.Recipient.Route)); // admins are mailboxes here: into their Maildirs
        Assert.All(recipients, r => Assert.Equal(DsnNotify.Never, r.Recipient.Notify));
        var message = Message(envelope.Id);
        Assert.Equal("auto-generated", message.Headers["Auto-Submitted"]);
        Assert.Equal("refused-digest-noreply@mx.provider.test", message.From.Mailboxes.Single().Address);
        Assert.Contains("example.org on 2026-06-01: 3 attempt(s)", message.Subject);
        var text = message.TextBody!;
        Assert.Contains("192.0.2.1  (no confirmed reverse name)  HELO h.test  2 attempt(s)", text);
        Assert.Contains("198.51.100.7  (no confirmed reverse name)  HELO h.test  1 attempt(s)", text);
        Assert.Contains("12:00:00Z  198.51.100.7  from <> to <bob@example.org>  lacked: no TLS", text);
        Assert.True(text.IndexOf("12:00:00Z", StringComparison.Ordinal) < text.IndexOf("10:00:00Z", StringComparison.Ordinal), "newest first");
        Assert.Equal("queued as " + envelope.Id + " to 2 admin(s)", Assert.Single(_sends.Since(RefusedMailDigest.Kind, Day)).Result);
    }

    [Fact]
    public async Task OncePerDomainAndDayEvenFromTwoNodes()
    {
        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"));

        Assert.Equal("queued", Assert.Single(await Digest("node1").RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken)).Result);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("sent or claimed already", Assert.Single(await Digest("node1").RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken)).Result);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("sent or claimed already", Assert.Single(await Digest("node2").RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken)).Result);
        Assert.Single(Queued());
    }

    [Fact]
    public async Task NothingRefusedOrTheSwitchOffOrAnotherDayMeansNoMail()
    {
        RefusedLogs.Rcpt(_logs.Session(Day.AddHours(3), "192.0.2.1"), "a@sender.test", "bob@example.org", refusal: "unknown_recipient");
        RefusedLogs.Rcpt(_logs.Session(Day.AddHours(-1), "192.0.2.1"), "a@sender.test", "bob@example.org");
        await _logs.WriteAsync();
        Assert.Empty(await Digest().RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));

        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"));
        _refused.SetDigest("example.org", false);
        Assert.Empty(await Digest().RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Empty(Queued());
        Assert.Empty(_sends.Since(RefusedMailDigest.Kind, Day.AddDays(-2)));
    }

    [Fact]
    public async Task AttemptsFromTheDigestsOwnSenderAreLeftOutAndAloneTheySendNothing()
    {
        // The digest come back (forwarded by an admin's mailbox elsewhere): its own sender, as it is, SRS- or BATV-rewritten.
        await RefusedAsync((10, "192.0.2.1", "refused-digest-noreply@mx.provider.test", "alice@example.org"),
            (10.5, "192.0.2.1", "SRS0=HhJk=TT=mx.provider.test=refused-digest-noreply@forwarder.test", "alice@example.org"),
            (11, "192.0.2.1", "prvs=1234abcd=Refused-Digest-Noreply@MX.provider.test", "bob@example.org"));
        var digest = Digest();

        var outcome = Assert.Single(await digest.RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("nothing refused", outcome.Result);
        Assert.Empty(Queued());
        Assert.Equal(3, _refused.Attempts("example.org", Day).Count); // the page and the CLI still list them
        // A bounce (null sender) to an admin, and mail from another host's noreply or from a look-alike, are reported.
        await RefusedAsync((12, "192.0.2.1", "", "alice@example.org"), (13, "192.0.2.1", "refused-digest-noreply@elsewhere.test", "bob@example.org"),
            (14, "192.0.2.1", "SRS0=HhJk=TT=elsewhere.test=refused-digest-noreply@forwarder.test", "bob@example.org"),
            (15, "192.0.2.1", "x-refused-digest-noreply@mx.provider.test", "bob@example.org"));
        Assert.Equal("queued", Assert.Single(await digest.RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken)).Result);
        var text = Message(Assert.Single(Queued()).Envelope.Id).TextBody!;
        Assert.Contains("4 attempt(s) were refused", text);
        Assert.Contains("12:00:00Z  192.0.2.1  from <> to <alice@example.org>", text);
        Assert.DoesNotContain("mx.provider.test=refused-digest-noreply", text);
    }

    [Theory]
    [InlineData("refused-digest-noreply@mx.provider.test", true)]
    [InlineData("REFUSED-DIGEST-NOREPLY@mx.provider.test.", true)]
    [InlineData("prvs=0123abcd=refused-digest-noreply@mx.provider.test", true)]
    [InlineData("SRS0=HhJk=TT=mx.provider.test=refused-digest-noreply@forwarder.test", true)]
    [InlineData("SRS1=AbCd=forwarder1.test==HhJk=TT=mx.provider.test=refused-digest-noreply@forwarder2.test", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("refused-digest-noreply@other.test", false)]
    [InlineData("SRS0=HhJk=TT=other.test=refused-digest-noreply@forwarder.test", false)]
    [InlineData("refused-digest-noreply-x@mx.provider.test", false)]
    [InlineData("postmaster@mx.provider.test", false)]
    public void TheDigestsSenderIsRecognisedAsItIsAndAfterSrsOrBatv(string? mailFrom, bool fromDigest) =>
        Assert.Equal(fromDigest, Digest().IsFromDigest(mailFrom));

    [Fact]
    public async Task TheDigestIsMarkedSentBeforeTheSpoolTakesIt()
    {
        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"));
        var seen = new List<ReportSend>();
        var arrivals = new ArrivalProbe(_ => seen.Add(Assert.Single(_sends.Since(RefusedMailDigest.Kind, Day)))); // called once the message is committed

        var outcome = Assert.Single(await Digest(arrivals: arrivals).RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));

        var row = Assert.Single(seen);
        Assert.NotNull(row.SentAt); // a process that died here would not send it again
        Assert.Equal($"queued as {outcome.QueueId} to 2 admin(s)", row.Result);
    }

    [Fact]
    public async Task ASpoolFailureReleasesTheClaimAndTheNextRunSends()
    {
        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"));
        foreach (var step in StorageFaultPlan.WriteSteps) _faults.FailAlways(step, Errno.ENOSPC); // the disk is full

        var failed = Assert.Single(await Digest().RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith("failed: ", failed.Result);
        Assert.Empty(Queued());
        Assert.Contains(_log.Lines, l => l.Contains("not queued, tried again on the next run", StringComparison.Ordinal));
        var released = Assert.Single(_sends.Since(RefusedMailDigest.Kind, Day));
        Assert.Null(released.SentAt); // marked sent before the spool, unmarked when it refused
        Assert.StartsWith("not queued: ", released.Result);
        Assert.True(_sends.TryClaim(RefusedMailDigest.Kind, "example.org", Day, "node2", _time.GetUtcNow())); // released at once
        _sends.Release(RefusedMailDigest.Kind, "example.org", Day, "test");
        _faults.Clear(); // space again
        Assert.Equal("queued", Assert.Single(await Digest().RunAsync(Day, cancellationToken: TestContext.Current.CancellationToken)).Result);
        Assert.Single(Queued());
    }

    [Fact]
    public async Task TheServiceSendsTheDayThatEndedAndNotTheDayRunning()
    {
        await RefusedAsync((10, "192.0.2.1", "a@sender.test", "bob@example.org"), (24.02, "192.0.2.1", "a@sender.test", "bob@example.org"));
        var service = new SecureMx.Hosting.RefusedDigestService(Digest(), _time, NullLogger<SecureMx.Hosting.RefusedDigestService>.Instance);

        await service.RunOnceAsync(TestContext.Current.CancellationToken); // at 00:05 of the next day
        await service.RunOnceAsync(TestContext.Current.CancellationToken);

        var (envelope, _) = Assert.Single(Queued());
        Assert.Contains("on 2026-06-01: 1 attempt(s)", Message(envelope.Id).Subject);
        Assert.Equal([Day], _sends.Since(RefusedMailDigest.Kind, Day.AddDays(-1)).Select(s => s.Day));
    }

    [Fact]
    public void TheListIsCappedButTheCountsCoverAll()
    {
        var attempts = Enumerable.Range(0, RefusedMailDigest.MaxListed + 5)
            .Select(i => new RefusedAttempt(Day.AddSeconds(1000 - i), "", i % 2 == 0 ? "192.0.2.1" : "192.0.2.2", "h\r\nInjected: x", null, "a@s.test", "bob@example.org",
                "TLSv1.2", RefusedLogs.Cbc12, "554 5.7.1 x")).ToList();
        var text = RefusedMailDigest.Text("example.org", Day, attempts);
        Assert.Contains($"the first {RefusedMailDigest.MaxListed} of {attempts.Count}", text);
        Assert.Contains("192.0.2.1  (no confirmed reverse name)  HELO h??Injected: x  103 attempt(s)", text);
        Assert.Equal(RefusedMailDigest.MaxListed, text.Split('\n').Count(l => l.Contains("lacked: cipher TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 (TLSv1.2)", StringComparison.Ordinal)));
    }

    [Fact]
    public void TheCountsPerHostAreCappedWithTheHostsLeftOverCounted()
    {
        // A client rotating through an IPv6 /64: one attempt per address.
        var attempts = Enumerable.Range(0, RefusedAttemptRepository.MaxHosts + 7)
            .Select(i => new RefusedAttempt(Day.AddSeconds(1000 - i), "", $"2001:db8::{i:x}", "h", null, "a@s.test", "bob@example.org", null, null, "554 5.7.1 x")).ToList();
        var text = RefusedMailDigest.Text("example.org", Day, attempts);
        Assert.Equal(RefusedAttemptRepository.MaxHosts, text.Split('\n').Count(l => l.EndsWith("  1 attempt(s)", StringComparison.Ordinal)));
        Assert.Contains("  7 more host(s), each with fewer attempts, not listed\n", text);
    }
}
