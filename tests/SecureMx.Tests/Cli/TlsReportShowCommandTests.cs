using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Cli;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `securemx tls-report show DOMAIN [--day YYYY-MM-DD]`: the report JSON of the sessions counted in the
/// instance's store for a recipient domain on a UTC day (default today), as it would be sent.
/// </summary>
public sealed class TlsReportShowCommandTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 15, 30, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    public TlsReportShowCommandTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.sender.test", "off", "off", "off", "off", "off", null, null, null);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private void Count(DateTimeOffset at, string domain, TlsResultType? failure, int times)
    {
        using var sessions = new TlsSessionRepository(CliOptions.OpenStore(_data), TimeProvider.System, NullLogger.Instance);
        for (int i = 0; i < times; i++)
        {
            sessions.Record(new TlsSessionResult(at, domain, TlsReportPolicyType.Sts, ["version: STSv1", "mode: enforce", "mx: mx.example.org", "max_age: 86400"], ["mx.example.org"],
                failure, "mx.example.org", "192.0.2.25", "198.51.100.1", failure is null ? null : "certificate of mx.example.org[192.0.2.25]: expired"));
        }
    }

    [Fact]
    public void ShowPrintsTodaysReportWithTheHostnameAsOrganizationAndContact()
    {
        Count(Now.AddHours(-1), "example.org", null, 4);
        Count(Now.AddHours(-2), "example.org", TlsResultType.CertificateExpired, 2);
        Count(Now.AddDays(-1), "example.org", null, 100); // yesterday: not today's report

        var doc = JsonNode.Parse(TlsReportShowCommand.Show(_data, "Example.ORG.", null, Now))!;
        Assert.Equal("mx.sender.test", (string?)doc["organization-name"]);
        Assert.Equal("tlsrpt-noreply@mx.sender.test", (string?)doc["contact-info"]);
        Assert.Equal("2026-12-05T00:00:00Z", (string?)doc["date-range"]!["start-datetime"]);
        var policy = Assert.Single(doc["policies"]!.AsArray())!;
        Assert.Equal("example.org", (string?)policy["policy"]!["policy-domain"]);
        Assert.Equal(4, (long?)policy["summary"]!["total-successful-session-count"]);
        Assert.Equal(2, (long?)policy["summary"]!["total-failure-session-count"]);
        var failure = Assert.Single(policy["failure-details"]!.AsArray())!;
        Assert.Equal(("certificate-expired", 2L), ((string?)failure["result-type"], (long?)failure["failed-session-count"]));
    }

    [Fact]
    public void DayPicksAnEarlierUtcDay()
    {
        Count(Now.AddDays(-1), "example.org", null, 9);
        var doc = JsonNode.Parse(TlsReportShowCommand.Show(_data, "example.org", "2026-12-04", Now))!;
        Assert.Equal("2026-12-04T23:59:59Z", (string?)doc["date-range"]!["end-datetime"]);
        Assert.Equal(9, (long?)doc["policies"]![0]!["summary"]!["total-successful-session-count"]);
    }

    [Fact]
    public void ADomainWithoutSessionsThatDayIsAnErrorNotAnEmptyReport()
    {
        Count(Now, "example.org", null, 1);
        var ex = Assert.Throws<CliException>(() => TlsReportShowCommand.Show(_data, "other.test", null, Now));
        Assert.Equal("no sessions to other.test counted on 2026-12-05 (UTC)", ex.Message);
    }

    [Theory]
    [InlineData("05.12.2026")]
    [InlineData("2026-12-05T00:00Z")]
    [InlineData("yesterday")]
    public void ADayThatIsNotYyyyMmDdIsRefused(string day)
    {
        var ex = Assert.Throws<CliException>(() => TlsReportShowCommand.Day(day, Now));
        Assert.Contains("is not a day (YYYY-MM-DD)", ex.Message);
    }

    [Fact]
    public void AnInternationalizedDomainIsShownAsALabels() =>
        Assert.Equal("xn--bcher-kva.example", TlsReportShowCommand.PolicyDomain("Bücher.example"));
}
