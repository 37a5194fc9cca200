using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// A queued TLS report (a recipient routed to the report address) goes to the reader, never into a Maildir: delivered when
/// stored, delivered-as-discarded with the reader's log line when refused (never a bounce, never a retry), deferred
/// (4.3.0) only when the store does not answer; other recipients of the message go to the inner deliverer.
/// </summary>
public sealed class TlsReportDelivererTests : IAsyncDisposable
{
    private const string ReportAddress = "tlsrpt@company-y.example";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();
    private readonly MessageSpool _spool;
    private readonly TlsReportRepository _reports;
    private readonly RecordingDeliverer _inner = new();
    private readonly TlsReportDeliverer _deliverer;
    private readonly SecureMxOptions _options = new() { Hostname = "mx.test" };

    public TlsReportDelivererTests()
    {
        _store.Mailboxes.AddDomain(TlsReportSamples.Domain);
        _spool = new MessageSpool(Path.Combine(_dir.Path, "spool"), _time, NullLogger.Instance);
        _reports = new TlsReportRepository(_store.Database, new LogOptions(), _time);
        var intake = new TlsReportIntake(new TlsReportReader(_options.TlsReporting), _reports, _store.Mailboxes.IsHosted, _time, _log);
        _deliverer = new TlsReportDeliverer(_inner, _spool, intake, _options, _time, _log);
    }

    public async ValueTask DisposeAsync()
    {
        _spool.Dispose();
        await Task.CompletedTask;
        _store.Dispose();
        _dir.Dispose();
    }

    private sealed class RecordingDeliverer : IDeliverer
    {
        public List<string> Delivered { get; } = [];

        public Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct)
        {
            Delivered.AddRange(recipients.Select(r => r.Recipient.Address));
            return Task.FromResult<IReadOnlyList<DeliveryAttempt>>([]);
        }
    }

    private static EnvelopeRecipient Report => new(ReportAddress, ReportAddress, RecipientRoute.Local, TlsReportAddress.Target, DsnNotify.Unspecified, null, null);

    private async Task<(Envelope, IReadOnlyList<QueuedRecipient>)> QueueAsync(string text, params EnvelopeRecipient[] recipients)
    {
        var id = MessageId.New(_time);
        Envelope envelope;
        await using (var file = new SpoolFile(_spool, id, 0))
        {
            file.Write(Encoding.ASCII.GetBytes(text));
            envelope = new Envelope(id, _time.GetUtcNow(), "noreply-smtp-tls-reporting@google.com", file.Length,
                new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
                new ClientTrace("mx", "192.0.2.1", "mail.google.example", "smtp", null, null), recipients);
            await file.CompleteAsync();
            await _spool.CommitAsync(envelope, file);
            file.MarkCommitted();
        }
        return (envelope, _spool.Queue.Load(id)!.Value.Recipients);
    }

    [Fact]
    public async Task AReportIsStoredAndDeliveredAndTheOtherRecipientsGoToTheInnerDeliverer()
    {
        var alice = new EnvelopeRecipient("alice@company-y.example", "alice@company-y.example", RecipientRoute.Local, "mail/company-y.example/alice", DsnNotify.Unspecified, null, null);
        var (envelope, recipients) = await QueueAsync(TlsReportSamples.GoogleMail(ReportAddress), Report, alice);
        var attempt = Assert.Single(await _deliverer.DeliverAsync(envelope, recipients, CancellationToken.None));
        Assert.Equal((RecipientState.Delivered, "tls report stored"), (attempt.Outcome.State, attempt.Outcome.Text));
        Assert.Equal(["alice@company-y.example"], _inner.Delivered);
        var row = Assert.Single(_reports.Since(TlsReportSamples.Domain, DateTimeOffset.UnixEpoch));
        Assert.Equal(("Google Inc.", 5326L, 3L, "mail"), (row.Organization, row.Successful, row.Failed, row.Source));
    }

    [Fact]
    public async Task AHostileReportIsDiscardedWithItsLogLineNotBouncedNorRetried()
    {
        var bomb = TlsReportSamples.Gzip(new byte[50 * 1024 * 1024]);
        var mail = TlsReportSamples.Mail("evil@attacker.example", ReportAddress, TlsReportSamples.Domain, "attacker.example", "<1>", "application/tlsrpt+gzip", "x.json.gz", bomb);
        var (envelope, recipients) = await QueueAsync(mail, Report);
        var attempt = Assert.Single(await _deliverer.DeliverAsync(envelope, recipients, CancellationToken.None));
        Assert.Equal(RecipientState.Delivered, attempt.Outcome.State);
        Assert.StartsWith("tls report discarded: gzip expands beyond", attempt.Outcome.Text);
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning: tls report from ?/noreply-smtp-tls-reporting@google.com refused: gzip expands beyond", StringComparison.Ordinal));
        Assert.Empty(_reports.Since(TlsReportSamples.Domain, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public async Task AMessageLargerThanMaxReportBytesIsDiscardedUnread()
    {
        _options.TlsReporting.MaxReportBytes = 1000;
        var (envelope, recipients) = await QueueAsync(TlsReportSamples.GoogleMail(ReportAddress), Report);
        var attempt = Assert.Single(await _deliverer.DeliverAsync(envelope, recipients, CancellationToken.None));
        Assert.Equal((RecipientState.Delivered, "tls report discarded: too large"), (attempt.Outcome.State, attempt.Outcome.Text));
        Assert.Contains($"Warning: tls report from noreply-smtp-tls-reporting@google.com refused: {envelope.Size} bytes, more than 1000", _log.Lines);
    }

    [Fact]
    public async Task AStoreThatDoesNotAnswerDefersTheReportAndItIsStoredOnTheNextAttempt()
    {
        var (envelope, recipients) = await QueueAsync(TlsReportSamples.MicrosoftMail(ReportAddress), Report);
        _store.Database.Execute("ALTER TABLE tls_reports_received RENAME TO tls_reports_gone");
        var deferred = Assert.Single(await _deliverer.DeliverAsync(envelope, recipients, CancellationToken.None));
        Assert.Equal((RecipientState.Deferred, 451), (deferred.Outcome.State, deferred.Outcome.ReplyCode));
        Assert.StartsWith("4.3.0 tls report not stored", deferred.Outcome.Text);
        Assert.Equal(TimeSpan.FromSeconds(_options.Delivery.LocalRetrySeconds), deferred.RetryAfter);

        _store.Database.Execute("ALTER TABLE tls_reports_gone RENAME TO tls_reports_received");
        var delivered = Assert.Single(await _deliverer.DeliverAsync(envelope, recipients, CancellationToken.None));
        Assert.Equal("tls report stored", delivered.Outcome.Text);
        Assert.Equal(2, _reports.Since(TlsReportSamples.Domain, DateTimeOffset.UnixEpoch).Count);
    }
}
