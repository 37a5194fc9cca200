using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.TestKit;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The domain page's TLS reporting section: the <c>_smtp._tls</c> record to publish, and the reports received in the last
/// 30 days — per sending organisation and policy the sessions successful and failed, and the failures by result type and
/// receiving MX/IP; for the domain's administrators and system administrators only.
/// </summary>
public sealed partial class DomainTlsReportsPageTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [GeneratedRegex("""<tr class="entry" data-organization="(?<org>[^"]*)" data-policy="(?<policy>[^"]*)" data-successful="(?<ok>\d+)" data-failed="(?<failed>\d+)">""")]
    private static partial Regex SenderRow();

    [GeneratedRegex("""<tr class="entry" data-organization="(?<org>[^"]*)" data-result-type="(?<type>[^"]*)" data-sessions="(?<n>\d+)">\s*<td>[^<]*</td>\s*<td class="mono">[^<]*</td>\s*<td class="mono">(?<mx>[^<]*)</td>\s*<td class="mono">(?<ip>[^<]*)</td>""")]
    private static partial Regex FailureRow();

    private void Receive(string domain)
    {
        var intake = new TlsReportIntake(new TlsReportReader(new TlsReportingOptions()), new TlsReportRepository(host.Store.Database, new LogOptions(), host.Time),
            host.Store.Mailboxes.IsHosted, host.Time, NullLogger.Instance);
        var today = new DateTimeOffset(host.Time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero).AddDays(-1);
        foreach (var sample in new[] { TlsReportSamples.Google, TlsReportSamples.Microsoft, TlsReportSamples.RfcExample })
            Assert.NotEqual(TlsReportIntakeResult.Refused, intake.FromBody(TlsReportSamples.Json(sample, today, domain), gzip: false, "test", domain).Result);
    }

    [Fact]
    public async Task TheDomainAdminSeesWhichSendersReportedFailuresAndWhy()
    {
        Receive("a.test");
        var html = await (await host.As(Role.AdminA)).GetPageAsync("/domain/a.test");
        Assert.Contains("_smtp._tls.a.test. IN TXT &quot;v=TLSRPTv1; rua=mailto:tlsrpt@a.test&quot;", html);
        var senders = SenderRow().Matches(html).Select(m => (m.Groups["org"].Value, m.Groups["policy"].Value, long.Parse(m.Groups["ok"].Value), long.Parse(m.Groups["failed"].Value))).ToList();
        Assert.Equal(
        [
            ("Company-X", "sts", 5326L, 303L),
            ("Microsoft Corporation", "tlsa", 90L, 7L),
            ("Google Inc.", "sts", 5326L, 3L),
            ("Microsoft Corporation", "no-policy-found", 412L, 0L),
        ], senders);
        var failures = FailureRow().Matches(html).Select(m => (m.Groups["org"].Value, m.Groups["type"].Value, long.Parse(m.Groups["n"].Value),
            WebUtility.HtmlDecode(m.Groups["mx"].Value), m.Groups["ip"].Value)).ToList();
        Assert.Equal(
        [
            ("Company-X", "starttls-not-supported", 200L, "mx2.mail.a.test", "203.0.113.56"),
            ("Company-X", "certificate-expired", 100L, "mx1.mail.a.test", "–"),
            ("Microsoft Corporation", "tlsa-invalid", 7L, "mx2.a.test", "203.0.113.57"),
            ("Company-X", "validation-failure", 3L, "mx-backup.mail.a.test", "203.0.113.58"),
            ("Google Inc.", "certificate-expired", 3L, "mx.a.test", "203.0.113.56"),
        ], failures);

        // The system administrator sees the same; b.test's administrator is refused the page and sees none of it on their own.
        Assert.Equal(4, SenderRow().Count(await (await host.As(Role.Root)).GetPageAsync("/domain/a.test")));
        var other = await host.As(Role.AdminB);
        using var refused = await other.GetAsync("/domain/a.test");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var own = await other.GetPageAsync("/domain/b.test");
        Assert.Empty(SenderRow().Matches(own));
        Assert.Contains("id=\"tls-reports-empty\"", own);
    }
}
