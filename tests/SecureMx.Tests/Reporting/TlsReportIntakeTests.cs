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

    private static byte[] RfcReport(string reportId, string organization = "Company-X") => Encoding.UTF8.GetBytes(
        Encoding.UTF8.GetString(TlsReportSamples.Json(TlsReportSamples.RfcExample))
            .Replace("5065427c-23d3-47ca-b6e0-946ea0e8c4be", reportId, StringComparison.Ordinal)
            .Replace("\"Company-X\"", "\"" + organization + "\"", StringComparison.Ordinal));

    [Fact]
    public void AFloodOfReportsFromOneOrganisationIsRefusedBeyondTheDailyCapWithItsLogLine()
    {
        for (int i = 0; i < TlsReportIntake.MaxReportsPerOrganizationPerDay; i++)
            Assert.Equal(TlsReportIntakeResult.Stored, _intake.FromBody(RfcReport("id-" + i), gzip: false, "198.51.100.7", null).Result);
        var over = _intake.FromBody(RfcReport("id-over"), gzip: false, "198.51.100.7", null);
        var reason = $"more than {TlsReportIntake.MaxReportsPerOrganizationPerDay} reports from Company-X for {TlsReportSamples.Domain} today";
        Assert.Equal(new TlsReportIntakeOutcome(TlsReportIntakeResult.Refused, reason), over);
        Assert.Contains($"Warning: tls report from Company-X/198.51.100.7 refused: {reason}", _log.Lines);
        Assert.Equal(TlsReportIntake.MaxReportsPerOrganizationPerDay, Stored().Count);
        // A report stored before is still a duplicate, and the next day takes reports again.
        Assert.Equal(TlsReportIntakeResult.Duplicate, _intake.FromBody(RfcReport("id-0"), gzip: false, "198.51.100.7", null).Result);
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(TlsReportIntakeResult.Stored, _intake.FromBody(RfcReport("id-over"), gzip: false, "198.51.100.7", null).Result);
    }

    [Fact]
    public void ReportsUnderEverNewOrganisationNamesStopAtTheDomainsDailyRowCap()
    {
        var intake = new TlsReportIntake(new TlsReportReader(new TlsReportingOptions()), _reports, _store.Mailboxes.IsHosted, _time, _log, maxRowsPerDomain: 3);
        for (int i = 0; i < 3; i++) Assert.Equal(TlsReportIntakeResult.Stored, intake.FromBody(RfcReport("r", "Org " + i), gzip: false, "198.51.100.7", null).Result);
        Assert.Equal(new TlsReportIntakeOutcome(TlsReportIntakeResult.Refused, $"more than 3 report rows for {TlsReportSamples.Domain} today"),
            intake.FromBody(RfcReport("r", "Org 3"), gzip: false, "198.51.100.7", null));
        Assert.Equal(3, Stored().Count);
    }

    [Fact]
    public void OfAPolicysFailureDetailsTheHundredWithMostSessionsAreStoredAndItsTotalsStayWhole()
    {
        var details = string.Join(",", Enumerable.Range(1, TlsReportReader.MaxFailureDetails).Select(i =>
            $"{{\"result-type\":\"validation-failure\",\"receiving-ip\":\"203.0.113.{i % 250}\",\"failed-session-count\":{i}}}"));
        var json = $$"""
            {"organization-name":"Big","date-range":{"start-datetime":"2026-12-04T00:00:00Z","end-datetime":"2026-12-04T23:59:59Z"},"report-id":"big-1",
             "policies":[{"policy":{"policy-type":"no-policy-found","policy-domain":"{{TlsReportSamples.Domain}}"},
               "summary":{"total-successful-session-count":1,"total-failure-session-count":500500},"failure-details":[{{details}}]}]}
            """;
        Assert.Equal(TlsReportIntakeResult.Stored, _intake.FromBody(Encoding.UTF8.GetBytes(json), gzip: false, "198.51.100.7", null).Result);
        var row = Assert.Single(Stored());
        var stored = TlsReportIntake.Details(row.Details);
        Assert.Equal(TlsReportIntake.MaxStoredFailureDetails, stored.Count);
        Assert.Equal(TlsReportReader.MaxFailureDetails, stored.Max(f => f.Sessions));
        Assert.Equal(TlsReportReader.MaxFailureDetails - TlsReportIntake.MaxStoredFailureDetails + 1, stored.Min(f => f.Sessions));
        Assert.Equal(500500L, row.Failed);
    }

    /// <summary>A message whose reading fails as a MemoryStream past 2 GiB does.</summary>
    private sealed class FailingStream : MemoryStream
    {
        public override int Read(Span<byte> buffer) => throw new IOException("Stream was too long.");

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("Stream was too long.");
    }
}
