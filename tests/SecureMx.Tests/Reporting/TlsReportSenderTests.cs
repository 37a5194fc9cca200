using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// The daily sending (RFC 8460 §5) against a real store (the test process's backend), a real spool, and a
/// real HTTPS collector: one report per domain and day, by mail into the queue and by POST; the claim
/// makes a second run (or node) send nothing; a collector that is down leaves the report for the next run;
/// a domain without a record costs no claim.
/// </summary>
public sealed class TlsReportSenderTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    private const string Remote = "remote.example.net";

    private readonly FakeTimeProvider _time = new(Day.AddDays(1).AddMinutes(20));
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store;
    private readonly TlsSessionRepository _sessions;
    private readonly MessageSpool _spool;
    private readonly TestCertificate _certificate = TestCertificates.IssuedByPrivateCa("reports.remote.example.net");
    private readonly PkixTrust _trust;
    private readonly ReportCollectorStub _collector;
    private readonly ReportingDns _dns = new() { Hosts = { "reports.remote.example.net" } };
    private readonly SecureMxOptions _options = new() { Hostname = "mx.sender.test" };

    public TlsReportSenderTests()
    {
        _store = new TestStore(_time);
        _store.Mailboxes.AddDomain("example.test");
        _store.Mailboxes.AddMailbox("tlsrpt", "example.test", "x");
        _sessions = new TlsSessionRepository(_store.Database, _time, NullLogger.Instance);
        _spool = new MessageSpool(Path.Combine(_dir.Path, "spool"), _time, NullLogger.Instance);
        _trust = PkixTrust.Load(_certificate.WritePem(_dir.Path, "collector").CaFile!);
        _collector = new ReportCollectorStub(_certificate);
        _options.TlsReporting.OrganizationName = "Sender Org";
        Count(Remote, successes: 5, failures: 2);
    }

    public async ValueTask DisposeAsync()
    {
        await _collector.DisposeAsync();
        _sessions.Dispose();
        _spool.Dispose();
        _store.Dispose();
        _certificate.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string CollectorUrl => $"https://reports.remote.example.net:{_collector.Port}/tlsrpt";

    private void Count(string domain, int successes, int failures)
    {
        for (int i = 0; i < successes; i++)
            _sessions.Record(new TlsSessionResult(Day.AddHours(3), domain, TlsReportPolicyType.NoPolicyFound, [], [], null, "mx." + domain, "192.0.2.5", "192.0.2.1"));
        for (int i = 0; i < failures; i++)
            _sessions.Record(new TlsSessionResult(Day.AddHours(4), domain, TlsReportPolicyType.NoPolicyFound, [], [], TlsResultType.StartTlsNotSupported, "mx." + domain, "192.0.2.5", "192.0.2.1", "no STARTTLS"));
        _sessions.Flush();
    }

    private TlsReportSender Sender(string node = "mx1", MessageAcceptor? acceptor = null) => new(_dns, _sessions, new ReportSendRepository(_store.Database),
        new TlsReportPoster(_dns, _trust, _options, _time), acceptor ?? new MessageAcceptor(_spool, arrivals: null, _time, NullLogger.Instance),
        new RecipientRouter(_store.Mailboxes, _options.Delivery), _options, node, _time, NullLogger.Instance);

    private void Publish(string domain, string record) => _dns.Txt["_smtp._tls." + domain] = [record];

    private List<(Envelope Envelope, List<QueuedRecipient> Recipients)> Spooled() => _spool.Queue.ListAll();

    private MimeMessage Message(string id)
    {
        using var data = _spool.OpenData(id);
        return MimeMessage.Load(data);
    }

    private static JsonDocument Json(byte[] gzip) => JsonDocument.Parse(new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress));

    private static byte[] Attachment(MimeMessage message)
    {
        using var decoded = new MemoryStream();
        Assert.IsType<MimePart>(Assert.IsType<MultipartReport>(message.Body)[1]).Content!.DecodeTo(decoded);
        return decoded.ToArray();
    }

    /// <summary>A sender whose report mail is signed (RFC 8460 §5.3) with the keys of <paramref name="keys"/>; what it reports goes to <paramref name="reported"/>.</summary>
    private TlsReportSender SigningSender(SecureMx.Tests.TestSupport.DkimTestKeys keys, List<string> reported)
    {
        var signer = new SecureMx.Dkim.SubmissionSigner(new SecureMx.Dkim.DkimKeyRepository(_store.Database, _time), keys, _time);
        return new TlsReportSender(_dns, _sessions, new ReportSendRepository(_store.Database), new TlsReportPoster(_dns, _trust, _options, _time),
            new MessageAcceptor(_spool, arrivals: null, _time, NullLogger.Instance), new RecipientRouter(_store.Mailboxes, _options.Delivery), _options, "mx1", _time,
            NullLogger.Instance) { Sign = signer.SignOrReport("a TLS report", reported.Add) };
    }

    private byte[] Bytes(string id)
    {
        using var data = _spool.OpenData(id);
        using var copy = new MemoryStream();
        data.CopyTo(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task AReportMailIsDkimSignedByItsFromDomain()
    {
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");
        var keys = new SecureMx.Tests.TestSupport.DkimTestKeys();
        var fromDomain = Sender().From.Split('@')[1];
        new SecureMx.Dkim.DkimKeyRepository(_store.Database, _time).Add(keys.Make(fromDomain, "r1", SecureMx.Dkim.DkimAlgorithm.Rsa2048));
        var reported = new List<string>();
        Assert.Equal(TlsReportSendOutcome.Sent, Assert.Single(await SigningSender(keys, reported).SendDayAsync(Day, null, Ct)).Outcome);
        var bytes = Bytes(Assert.Single(Spooled()).Envelope.Id);
        Assert.Equal([true], keys.Verify(bytes));
        Assert.Contains($"d={fromDomain}; s=r1;", System.Text.Encoding.ASCII.GetString(bytes));
        Assert.Empty(reported);
        using var json = Json(Attachment(MimeMessage.Load(new MemoryStream(bytes)))); // the report itself unchanged in substance
        Assert.Equal(5, json.RootElement.GetProperty("policies")[0].GetProperty("summary").GetProperty("total-successful-session-count").GetInt64());
    }

    [Fact]
    public async Task AKeyThatCannotBeUsedLeavesTheReportUnsignedButSentAndSaysWhy()
    {
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");
        var keys = new SecureMx.Tests.TestSupport.DkimTestKeys();
        var fromDomain = Sender().From.Split('@')[1];
        new SecureMx.Dkim.DkimKeyRepository(_store.Database, _time).Add(keys.Make(fromDomain, "r1", SecureMx.Dkim.DkimAlgorithm.Rsa2048));
        keys.Delete(fromDomain, "r1");
        var reported = new List<string>();
        Assert.Equal(TlsReportSendOutcome.Sent, Assert.Single(await SigningSender(keys, reported).SendDayAsync(Day, null, Ct)).Outcome);
        Assert.DoesNotContain("DKIM-Signature", System.Text.Encoding.ASCII.GetString(Bytes(Assert.Single(Spooled()).Envelope.Id)));
        Assert.StartsWith("a TLS report goes out without a DKIM signature: DKIM keys of " + fromDomain, Assert.Single(reported));
    }

    [Fact]
    public async Task AMailtoReportIsSpooledOnceFromTheNullSenderAndASecondRunSendsNothing()
    {
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");

        var first = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));
        var second = Assert.Single(await Sender("mx2").SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, first.Outcome);
        Assert.Equal(TlsReportSendOutcome.AlreadyClaimed, second.Outcome);
        var (envelope, recipients) = Assert.Single(Spooled());
        Assert.Equal("", envelope.Sender);
        Assert.True(envelope.Client.IsTlsReport);
        var recipient = Assert.Single(recipients).Recipient;
        Assert.Equal("reports@remote.example.net", recipient.Address);
        Assert.Equal(RecipientRoute.Remote, recipient.Route);
        Assert.Equal(DsnNotify.Never, recipient.Notify);
        var message = Message(envelope.Id);
        Assert.Equal("Report Domain: remote.example.net Submitter: mx.sender.test Report-ID: <2026-12-04_remote.example.net@mx.sender.test>", message.Subject);
        using var json = Json(Attachment(message));
        var summary = json.RootElement.GetProperty("policies")[0].GetProperty("summary");
        Assert.Equal(5, summary.GetProperty("total-successful-session-count").GetInt64());
        Assert.Equal(2, summary.GetProperty("total-failure-session-count").GetInt64());
        Assert.Equal("Sender Org", json.RootElement.GetProperty("organization-name").GetString());
        Assert.Equal("tlsrpt-noreply@mx.sender.test", json.RootElement.GetProperty("contact-info").GetString());
        // The second run knew from the store that the report went: no DNS lookup, no claim.
        Assert.Single(_dns.TxtAsked);
        var row = Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
        Assert.Equal("mx1", row.Node);
        Assert.Contains($"queued as {envelope.Id}", row.Result);
    }

    [Fact]
    public async Task AContactAddressAtAnotherDomainIsTheFromAndTheSubmitter()
    {
        _options.TlsReporting.ContactInfo = "tls-reports@provider.example.org";
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");

        Assert.Equal(TlsReportSendOutcome.Sent, Assert.Single(await Sender().SendDayAsync(Day, null, Ct)).Outcome);

        var message = Message(Assert.Single(Spooled()).Envelope.Id);
        Assert.Equal("tls-reports@provider.example.org", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal("provider.example.org", message.Headers["TLS-Report-Submitter"]);
        Assert.StartsWith("provider.example.org!remote.example.net!", Assert.IsType<MimePart>(Assert.IsType<MultipartReport>(message.Body)[1]).FileName);
        using var json = Json(Attachment(message));
        Assert.Equal("2026-12-04_remote.example.net@provider.example.org", json.RootElement.GetProperty("report-id").GetString());
    }

    [Fact]
    public async Task AHostedReportAddressGetsTheReportLocally()
    {
        Count("example.test", successes: 1, failures: 0);
        Publish("example.test", "v=TLSRPTv1; rua=mailto:tlsrpt@example.test");

        var result = Assert.Single(await Sender().SendDayAsync(Day, "example.test", Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, result.Outcome);
        var recipient = Assert.Single(Assert.Single(Spooled()).Recipients).Recipient;
        Assert.Equal(RecipientRoute.Local, recipient.Route);
        Assert.NotNull(recipient.Maildir);
    }

    [Fact]
    public async Task AnUnknownHostedReportAddressGetsNothingAndTheReportIsTriedAgain()
    {
        Count("example.test", successes: 1, failures: 0);
        Publish("example.test", "v=TLSRPTv1; rua=mailto:nobody@example.test");

        var result = Assert.Single(await Sender().SendDayAsync(Day, "example.test", Ct));

        Assert.Equal(TlsReportSendOutcome.Failed, result.Outcome);
        Assert.Contains("no such address", result.Detail);
        Assert.Empty(Spooled());
        Assert.Null(Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day)).SentAt);
    }

    [Fact]
    public async Task AnHttpsRuaGetsAPostWithTheSameJsonAsTheMail()
    {
        Publish(Remote, $"v=TLSRPTv1; rua=mailto:reports@remote.example.net,{CollectorUrl}");

        var result = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, result.Outcome);
        var (_, posted) = Assert.Single(_collector.Requests);
        var mailed = Attachment(Message(Assert.Single(Spooled()).Envelope.Id));
        using var a = Json(posted);
        using var b = Json(mailed);
        Assert.Equal(b.RootElement.GetRawText(), a.RootElement.GetRawText());
        // What went out validates against the RFC 8460 §4.4 schema the tests ship.
        using var unzipped = new MemoryStream();
        new GZipStream(new MemoryStream(posted), CompressionMode.Decompress).CopyTo(unzipped);
        Assert.Empty(TlsReportSchema.Errors(System.Text.Encoding.UTF8.GetString(unzipped.ToArray())));
        Assert.Contains(CollectorUrl + ": 200", result.Detail);
    }

    [Fact]
    public async Task ACollectorThatIsDownLeavesTheReportUnsentAndTheNextRunSendsIt()
    {
        Publish(Remote, $"v=TLSRPTv1; rua={CollectorUrl}");
        _collector.Status = 503;

        var first = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));
        var row = Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
        _collector.Status = 200;
        _time.Advance(TimeSpan.FromHours(1));
        var second = Assert.Single(await Sender("mx2").SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Failed, first.Outcome);
        Assert.Null(row.SentAt);
        Assert.Contains("503", row.Result);
        Assert.Equal(TlsReportSendOutcome.Sent, second.Outcome);
        Assert.Equal(2, _collector.Requests.Count);
        Assert.NotNull(Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day)).SentAt);
    }

    [Fact]
    public async Task MailThatWentOutIsEnoughWhenTheCollectorIsDown()
    {
        Publish(Remote, $"v=TLSRPTv1; rua=mailto:reports@remote.example.net,https://reports.remote.example.net:{LoopbackPort.Closed()}/r");

        var result = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, result.Outcome);
        Assert.Contains("failed: https://reports.remote.example.net", result.Detail);
        Assert.False(Assert.Single(await Sender().SendDayAsync(Day, null, Ct)).Outcome == TlsReportSendOutcome.Sent);
    }

    [Fact]
    public async Task ADomainWithoutARecordGetsNoReportAndNoClaim()
    {
        var result = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.NotRequested, result.Outcome);
        Assert.Empty(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
        Assert.Empty(Spooled());
    }

    [Fact]
    public async Task TwoRecordsOrOnlyUnusableUrisAreNoRequestEither()
    {
        _dns.Txt["_smtp._tls." + Remote] = ["v=TLSRPTv1; rua=mailto:a@remote.example.net", "v=TLSRPTv1; rua=mailto:b@remote.example.net"];
        Assert.Equal(TlsReportSendOutcome.NotRequested, Assert.Single(await Sender().SendDayAsync(Day, null, Ct)).Outcome);
        Publish(Remote, "v=TLSRPTv1; rua=http://plain.remote.example.net/");
        Assert.Equal(TlsReportSendOutcome.NotRequested, Assert.Single(await Sender().SendDayAsync(Day, null, Ct)).Outcome);
        Assert.Empty(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
    }

    [Fact]
    public async Task ALookupThatFailsClaimsNothingAndIsTriedAgain()
    {
        _dns.Txt["_smtp._tls." + Remote] = null;

        var result = Assert.Single(await Sender().SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Failed, result.Outcome);
        Assert.Contains("SERVFAIL", result.Detail);
        Assert.Empty(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
    }

    [Fact]
    public async Task OnlyTheDomainAskedForIsHandled()
    {
        Count("other.example", successes: 1, failures: 0);
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");
        Publish("other.example", "v=TLSRPTv1; rua=mailto:reports@other.example");

        var results = await Sender().SendDayAsync(Day, "OTHER.example.", Ct);

        Assert.Equal("other.example", Assert.Single(results).Domain);
        Assert.Equal("reports@other.example", Assert.Single(Assert.Single(Spooled()).Recipients).Recipient.Address);
    }

    [Fact]
    public async Task AnotherDaysSessionsAreNotInTheReport()
    {
        _sessions.Record(new TlsSessionResult(Day.AddDays(1).AddMinutes(5), Remote, TlsReportPolicyType.NoPolicyFound, [], [], null, "mx." + Remote, "192.0.2.5", "192.0.2.1"));
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");

        Assert.Single(await Sender().SendDayAsync(Day, null, Ct));

        using var json = Json(Attachment(Message(Assert.Single(Spooled()).Envelope.Id)));
        Assert.Equal(5, json.RootElement.GetProperty("policies")[0].GetProperty("summary").GetProperty("total-successful-session-count").GetInt64());
        Assert.Equal("2026-12-04T00:00:00Z", json.RootElement.GetProperty("date-range").GetProperty("start-datetime").GetString());
    }

    [Fact]
    public async Task TheReportMailIsMarkedSentBeforeTheSpoolTakesIt()
    {
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");
        var sends = new ReportSendRepository(_store.Database);
        var seen = new List<ReportSend>();
        var probe = new ArrivalProbe(_ => seen.Add(Assert.Single(sends.Since("tlsrpt", Day)))); // called once the message is committed

        var result = Assert.Single(await Sender(acceptor: new MessageAcceptor(_spool, probe, _time, NullLogger.Instance)).SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, result.Outcome);
        var row = Assert.Single(seen);
        Assert.NotNull(row.SentAt); // a process that died here would not spool it again
        Assert.Contains($"queued as {Assert.Single(Spooled()).Envelope.Id}", row.Result);
    }

    [Fact]
    public async Task AReportMailTheSpoolRefusesIsUnmarkedAndReleasedAndTheNextRunSendsIt()
    {
        Publish(Remote, "v=TLSRPTv1; rua=mailto:reports@remote.example.net");
        var faults = new StorageFaultPlan();
        using var full = new MessageSpool(Path.Combine(_dir.Path, "full"), _time, NullLogger.Instance, new DurableFiles(faults));
        foreach (var step in StorageFaultPlan.WriteSteps) faults.FailAlways(step, Errno.ENOSPC); // the disk is full

        var failed = Assert.Single(await Sender(acceptor: new MessageAcceptor(full, null, _time, NullLogger.Instance)).SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Failed, failed.Outcome);
        Assert.Contains("not queued", failed.Detail);
        var row = Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day));
        Assert.Null(row.SentAt);
        Assert.Empty(full.Queue.ListAll());
        // Released at once: another node sends it now.
        Assert.Equal(TlsReportSendOutcome.Sent, Assert.Single(await Sender("mx2").SendDayAsync(Day, null, Ct)).Outcome);
        Assert.Single(Spooled());
        using (var c = full.Queue.OpenRead()) Microsoft.Data.Sqlite.SqliteConnection.ClearPool(c);
    }

    [Fact]
    public async Task AReportPostedIsSentEvenWhenTheSpoolRefusesTheMail()
    {
        Publish(Remote, $"v=TLSRPTv1; rua=mailto:reports@remote.example.net,{CollectorUrl}");
        var faults = new StorageFaultPlan();
        using var full = new MessageSpool(Path.Combine(_dir.Path, "full"), _time, NullLogger.Instance, new DurableFiles(faults));
        foreach (var step in StorageFaultPlan.WriteSteps) faults.FailAlways(step, Errno.ENOSPC);

        var result = Assert.Single(await Sender(acceptor: new MessageAcceptor(full, null, _time, NullLogger.Instance)).SendDayAsync(Day, null, Ct));

        Assert.Equal(TlsReportSendOutcome.Sent, result.Outcome);
        Assert.Single(_collector.Requests);
        Assert.StartsWith("https://reports.remote.example.net", result.Detail);
        Assert.Contains("failed: mail to reports@remote.example.net: not queued", result.Detail);
        Assert.NotNull(Assert.Single(new ReportSendRepository(_store.Database).Since("tlsrpt", Day)).SentAt);
        using (var c = full.Queue.OpenRead()) Microsoft.Data.Sqlite.SqliteConnection.ClearPool(c);
    }
}
