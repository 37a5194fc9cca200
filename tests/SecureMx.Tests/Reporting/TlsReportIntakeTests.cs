using System.Text;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// A received TLS report into the store: one row per policy of a hosted (and addressed) domain, the same report by
/// mail and HTTPS stored once, every refusal one log line "tls report from ORG/SENDER refused: REASON" and nothing stored.
/// </summary>
public sealed class TlsReportIntakeTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero));
    private readonly TestStore _store = new();
    private readonly ListLogger _log = new();
    private readonly TlsReportRepository _reports;
    private readonly TlsReportIntake _intake;

    public TlsReportIntakeTests()
    {
        _store.Mailboxes.AddDomain(TlsReportSamples.Domain);
        _store.Mailboxes.AddDomain("other.example");
        _reports = new TlsReportRepository(_store.Database, new LogOptions(), _time);
        _intake = new TlsReportIntake(new TlsReportReader(new TlsReportingOptions()), _reports, _store.Mailboxes.IsHosted, _time, _log);
    }

    public void Dispose() => _store.Dispose();

    private List<ReceivedTlsReportRow> Stored(string domain = TlsReportSamples.Domain) => _reports.Since(domain, DateTimeOffset.MinValue.AddYears(1));

    [Fact]
    public void AMailReportIsStoredOnePolicyARowAndTheSameReportByHttpsIsNotStoredAgain()
    {
        var mail = TlsReportSamples.MicrosoftMail("tlsrpt@company-y.example");
        Assert.Equal(TlsReportIntakeResult.Stored, _intake.FromMessage(new MemoryStream(Encoding.ASCII.GetBytes(mail)), "tlsrpt-noreply@microsoft.com", TlsReportSamples.Domain).Result);
        Assert.Equal(TlsReportIntakeResult.Duplicate, _intake.FromBody(TlsReportSamples.Gzip(TlsReportSamples.Json(TlsReportSamples.Microsoft)), gzip: true, "203.0.113.9", TlsReportSamples.Domain).Result);
        var rows = Stored();
        Assert.Equal(["no-policy-found", "tlsa"], rows.Select(r => r.PolicyType).Order());
        Assert.All(rows, r => Assert.Equal("mail", r.Source));
        var tlsa = rows.Single(r => r.PolicyType == "tlsa");
        Assert.Equal((90L, 7L), (tlsa.Successful, tlsa.Failed));
        var failure = Assert.Single(TlsReportIntake.Details(tlsa.Details));
        Assert.Equal(("tlsa-invalid", "203.0.113.57", 7L), (failure.ResultType, failure.ReceivingIp, failure.Sessions));
    }

    [Fact]
    public void AReportForADomainNotHostedIsRefusedWithItsLogLine()
    {
        var outcome = _intake.FromBody(TlsReportSamples.Json(TlsReportSamples.RfcExample, domain: "elsewhere.example"), gzip: false, "198.51.100.7", null);
        Assert.Equal(new TlsReportIntakeOutcome(TlsReportIntakeResult.Refused, "report for a domain not hosted here (elsewhere.example)"), outcome);
        Assert.Contains("Warning: tls report from Company-X/198.51.100.7 refused: report for a domain not hosted here (elsewhere.example)", _log.Lines);
        Assert.Empty(Stored("elsewhere.example"));
    }

    [Fact]
    public void AReportSentToOneHostedDomainsAddressIsNotStoredForAnother()
    {
        var outcome = _intake.FromBody(TlsReportSamples.Json(TlsReportSamples.RfcExample), gzip: false, "a@b.example", "other.example");
        Assert.Equal(TlsReportIntakeResult.Refused, outcome.Result);
        Assert.Empty(Stored());
    }

    [Fact]
    public void HostileInputIsOneLogLineAndTheNextReportIsStillTaken()
    {
        var deep = Encoding.ASCII.GetBytes(new string('[', 10_000) + new string(']', 10_000));
        Assert.Equal(TlsReportIntakeResult.Refused, _intake.FromBody(deep, gzip: false, "198.51.100.7", null).Result);
        Assert.Equal("Warning: tls report from ?/198.51.100.7 refused: JSON nested deeper than 16", Assert.Single(_log.Lines));
        Assert.Equal(TlsReportIntakeResult.Stored, _intake.FromBody(TlsReportSamples.Json(TlsReportSamples.RfcExample), gzip: false, "198.51.100.7", null).Result);
        Assert.Single(Stored());
    }

    [Fact]
    public void AnIOExceptionWhileReadingTheReportIsARefusalNotADeferral()
    {
        var outcome = _intake.FromMessage(new FailingStream(), "sender@example.org", null);
        Assert.Equal(new TlsReportIntakeOutcome(TlsReportIntakeResult.Refused, "unreadable"), outcome);
        Assert.Equal("Warning: tls report from ?/sender@example.org refused: unreadable (IOException)", Assert.Single(_log.Lines));
        Assert.Empty(Stored());
    }

    /// <summary>A message whose reading fails as a MemoryStream past 2 GiB does.</summary>
    private sealed class FailingStream : MemoryStream
    {
        public override int Read(Span<byte> buffer) => throw new IOException("Stream was too long.");

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("Stream was too long.");
    }
}
