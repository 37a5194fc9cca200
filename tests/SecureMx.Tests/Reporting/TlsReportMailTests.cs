using System.IO.Compression;
using System.Text.Json;
using MimeKit;
using SecureMx.Reporting;
using SecureMx.Store;

namespace SecureMx.Tests.Reporting;

/// <summary>The report as mail (RFC 8460 §5.3): media types, file name, subject and header fields, and the JSON inside.</summary>
public sealed class TlsReportMailTests
{
    private static readonly DateTimeOffset Day = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);

    internal static TlsReport Report() => TlsReport.Build("Sender Org", "tlsrpt-noreply@mx.sender.test", "mx.sender.test", "example.org", Day,
    [
        new TlsSessionCount(Day, "example.org", "sts", "version: STSv1\nmode: enforce", "mx.example.org", "", "192.0.2.1", "mx.example.org", "198.51.100.7", 7, null),
        new TlsSessionCount(Day, "example.org", "sts", "version: STSv1\nmode: enforce", "mx.example.org", "certificate-expired", "192.0.2.1", "mx.example.org", "198.51.100.7", 2, "expired 2026-12-01"),
    ]);

    private static MimeMessage Sent()
    {
        var bytes = TlsReportMail.ToBytes(TlsReportMail.Build(Report(), "tlsrpt-noreply@mx.sender.test", ["tlsrpt@example.org"], "mx.sender.test", Day.AddDays(1).AddMinutes(17)));
        return MimeMessage.Load(new MemoryStream(bytes));
    }

    [Fact]
    public void TheMessageIsAMultipartReportOfTypeTlsrptWithTextAndTheGzipReport()
    {
        var message = Sent();
        var report = Assert.IsType<MultipartReport>(message.Body);
        Assert.Equal("tlsrpt", report.ReportType);
        Assert.Equal(2, report.Count);
        Assert.Equal("text/plain", report[0].ContentType.MimeType);
        var attachment = Assert.IsType<MimePart>(report[1]);
        Assert.Equal("application/tlsrpt+gzip", attachment.ContentType.MimeType);
        Assert.Equal($"mx.sender.test!example.org!{Day.ToUnixTimeSeconds()}!{Day.AddDays(1).AddSeconds(-1).ToUnixTimeSeconds()}.json.gz", attachment.FileName);
        Assert.Equal(ContentEncoding.Base64, attachment.ContentTransferEncoding);
    }

    [Fact]
    public void TheHeaderFieldsAreTheRfcs()
    {
        var message = Sent();
        Assert.Equal("Report Domain: example.org Submitter: mx.sender.test Report-ID: <2026-12-04_example.org@mx.sender.test>", message.Subject);
        Assert.Equal("example.org", message.Headers["TLS-Report-Domain"]);
        Assert.Equal("mx.sender.test", message.Headers["TLS-Report-Submitter"]);
        Assert.Equal("tlsrpt-noreply@mx.sender.test", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal("tlsrpt@example.org", Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal("auto-generated", message.Headers["Auto-Submitted"]);
        Assert.Equal("No", message.Headers["TLS-Required"]);
        Assert.EndsWith("@mx.sender.test", message.MessageId);
        Assert.Equal(Day.AddDays(1).AddMinutes(17), message.Date);
    }

    [Fact]
    public void TheAttachedGzipHoldsTheReportJsonWithTheSessions()
    {
        var attachment = Assert.IsType<MimePart>(Assert.IsType<MultipartReport>(Sent().Body)[1]);
        using var decoded = new MemoryStream();
        attachment.Content!.DecodeTo(decoded);
        decoded.Position = 0;
        using var json = JsonDocument.Parse(new GZipStream(decoded, CompressionMode.Decompress));
        var root = json.RootElement;
        Assert.Equal("Sender Org", root.GetProperty("organization-name").GetString());
        var policy = root.GetProperty("policies")[0];
        Assert.Equal("example.org", policy.GetProperty("policy").GetProperty("policy-domain").GetString());
        Assert.Equal(7, policy.GetProperty("summary").GetProperty("total-successful-session-count").GetInt64());
        Assert.Equal(2, policy.GetProperty("summary").GetProperty("total-failure-session-count").GetInt64());
        Assert.Equal("certificate-expired", policy.GetProperty("failure-details")[0].GetProperty("result-type").GetString());
    }

    [Fact]
    public void AReportIdWithoutAnAtGetsTheSubmitterInTheSubject()
    {
        var report = Report() with { ReportId = "20261204.1" };
        Assert.EndsWith("Report-ID: <20261204.1@mx.sender.test>", TlsReportMail.Subject(report, "mx.sender.test"));
    }

    [Fact]
    public void TheSubmitterIsTheFromDomainInLowerCase()
    {
        Assert.Equal("mx.sender.test", TlsReportMail.SubmitterOf("TLS@MX.Sender.Test"));
        Assert.Throws<ArgumentException>(() => TlsReportMail.SubmitterOf("not-an-address"));
    }
}
