using System.IO.Compression;
using System.Text;
using SecureMx.Config;
using SecureMx.Reporting;
using SecureMx.TestKit;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// Received TLS reports (RFC 8460 §4.4, §5.3): the senders' formats are read; hostile input — a gzip bomb, a truncated
/// gzip, JSON nested 10 000 deep, a 50 MB attachment, not JSON, a required field missing — is refused with a short reason.
/// </summary>
public sealed class TlsReportReaderTests
{
    private readonly TlsReportReader _reader = new(new TlsReportingOptions());

    private static MemoryStream Message(string text) => new(Encoding.ASCII.GetBytes(text));

    [Fact]
    public void AGoogleLikeGzipMailIsRead()
    {
        var report = _reader.ReadMessage(Message(TlsReportSamples.GoogleMail("tlsrpt@company-y.example")));
        Assert.Equal("Google Inc.", report.Organization);
        Assert.Equal("smtp-tls-reporting@google.com", report.Contact);
        Assert.Equal(TlsReportSamples.FileDay, report.Start);
        var policy = Assert.Single(report.Policies);
        Assert.Equal(("company-y.example", "sts", 5326L, 3L), (policy.PolicyDomain, policy.PolicyType, policy.Successful, policy.Failed));
        Assert.Equal("mode: enforce", policy.PolicyStrings[1]);
        var failure = Assert.Single(policy.Failures);
        Assert.Equal(("certificate-expired", "mx.company-y.example", "203.0.113.56", 3L), (failure.ResultType, failure.ReceivingMx, failure.ReceivingIp, failure.Sessions));
    }

    [Fact]
    public void AMicrosoftLikeMailWithAJsonAttachmentIsRead()
    {
        var report = _reader.ReadMessage(Message(TlsReportSamples.MicrosoftMail("tlsrpt@company-y.example")));
        Assert.Equal("Microsoft Corporation", report.Organization);
        Assert.Equal(["no-policy-found", "tlsa"], report.Policies.Select(p => p.PolicyType));
        Assert.Empty(report.Policies[0].Failures);
        Assert.Equal("no TLSA record matched the certificate", Assert.Single(report.Policies[1].Failures).ReasonCode);
    }

    [Fact]
    public void TheRfcExampleIsReadAsJsonOrGzip()
    {
        var json = TlsReportSamples.Json(TlsReportSamples.RfcExample);
        var plain = _reader.ReadBody(json, gzip: false);
        var gzipped = _reader.ReadBody(TlsReportSamples.Gzip(json), gzip: true);
        Assert.Equal(plain.Policies[0].Failures, gzipped.Policies[0].Failures);
        Assert.Equal([100L, 200L, 3L], plain.Policies[0].Failures.Select(f => f.Sessions));
        Assert.Equal("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED", plain.Policies[0].Failures[2].ReasonCode);
    }

    [Fact]
    public void AGzipBombStopsAtTheExpansionLimit()
    {
        // 10 GiB of zeros as 10 240 gzip members of 1 MiB each (gzip allows members in a row): about 10 MB compressed;
        // the reader stops at maxReportJsonBytes (20 MiB), long before.
        var member = ZerosGzipped(1024 * 1024);
        var bomb = new byte[member.Length * 10_240];
        for (int i = 0; i < 10_240; i++) member.CopyTo(bomb, i * member.Length);
        var reader = new TlsReportReader(new TlsReportingOptions { MaxReportBytes = 64 * 1024 * 1024 });
        var refused = Assert.Throws<TlsReportRefusedException>(() => reader.ReadBody(bomb, gzip: true));
        Assert.Equal($"gzip expands beyond {new TlsReportingOptions().MaxReportJsonBytes} bytes", refused.Message);
    }

    [Fact]
    public void ASmallGzipExpandsToAtMost200TimesItsSize()
    {
        var bomb = ZerosGzipped(10 * 1024 * 1024); // ~10 KB compressed, 10 MB of zeros: far more than 200×
        var refused = Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(bomb, gzip: true));
        Assert.Equal($"gzip expands beyond {200 * bomb.Length} bytes", refused.Message);
    }

    [Fact]
    public void ATruncatedGzipIsRefused()
    {
        var gzip = TlsReportSamples.Gzip(TlsReportSamples.Json(TlsReportSamples.RfcExample));
        foreach (var cut in new[] { gzip.Length - 3, gzip.Length - 8, gzip.Length / 2, 12 })
        {
            var refused = Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(gzip[..cut], gzip: true));
            Assert.Contains(refused.Message, new[] { "truncated gzip", "not valid gzip" });
        }
    }

    [Fact]
    public void JsonNestedTenThousandDeepIsRefused()
    {
        var deep = Encoding.ASCII.GetBytes("{\"organization-name\":\"x\",\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}");
        Assert.Equal("JSON nested deeper than 16", Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(deep, gzip: false)).Message);
        // Gzip'd, such repetition expands more than 200×: refused before the parser sees it.
        Assert.StartsWith("gzip expands beyond", Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(TlsReportSamples.Gzip(deep), gzip: true)).Message);
    }

    [Fact]
    public void AFiftyMegabyteAttachmentIsRefusedBeforeParsing()
    {
        var huge = new byte[50 * 1024 * 1024];
        var mail = TlsReportSamples.Mail("a@sender.example", "tlsrpt@company-y.example", "company-y.example", "sender.example", "<x>",
            "application/tlsrpt+gzip", "big.json.gz", huge);
        var refused = Assert.Throws<TlsReportRefusedException>(() => _reader.ReadMessage(Message(mail)));
        Assert.Equal($"message larger than {5 * 1024 * 1024} bytes", refused.Message);
    }

    [Theory]
    [InlineData("this is not json", "not JSON")]
    [InlineData("[1,2,3]", "not a JSON object")]
    [InlineData("{\"organization-name\":\"X\"}", "report-id missing or empty")]
    [InlineData("{\"organization-name\":\"X\",\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"yesterday\",\"end-datetime\":\"2026-12-04T23:59:59Z\"},\"policies\":[]}", "start-datetime not a date-time")]
    [InlineData("{\"organization-name\":\"X\",\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"2026-12-04T00:00:00Z\",\"end-datetime\":\"2026-12-04T23:59:59Z\"},\"policies\":[]}", "policies: 1 to 100 entries")]
    [InlineData("{\"organization-name\":\"X\",\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"2026-12-04T00:00:00Z\",\"end-datetime\":\"2026-12-04T23:59:59Z\"},\"policies\":[{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"d.example\"},\"summary\":{\"total-successful-session-count\":-1,\"total-failure-session-count\":0}}]}", "total-successful-session-count missing or not a count of 0 to 1000000000000")]
    [InlineData("{\"organization-name\":\"X\",\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"2026-12-04T00:00:00Z\",\"end-datetime\":\"2026-12-04T23:59:59Z\"},\"policies\":[{\"policy\":{\"policy-type\":\"dmarc\",\"policy-domain\":\"d.example\"},\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":0}}]}", "unknown policy-type 'dmarc'")]
    public void MalformedJsonIsRefusedWithItsReason(string json, string reason)
    {
        Assert.Equal(reason, Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(Encoding.UTF8.GetBytes(json), gzip: false)).Message);
    }

    [Fact]
    public void AnOverlongStringIsRefusedAndTheOrganizationNamed()
    {
        var json = Encoding.UTF8.GetString(TlsReportSamples.Json(TlsReportSamples.RfcExample)).Replace("5065427c-23d3-47ca-b6e0-946ea0e8c4be", new string('x', 300));
        var refused = Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(Encoding.UTF8.GetBytes(json), gzip: false));
        Assert.Equal(("report-id longer than 255 characters", "Company-X"), (refused.Message, refused.Organization));
    }

    [Fact]
    public void AMailWithoutAReportPartIsRefused()
    {
        var mail = "From: a@b.example\r\nTo: tlsrpt@company-y.example\r\nSubject: hello\r\n\r\nJust text.\r\n";
        Assert.Equal("no application/tlsrpt+gzip, application/tlsrpt+json or .json(.gz) part",
            Assert.Throws<TlsReportRefusedException>(() => _reader.ReadMessage(Message(mail))).Message);
    }

    [Fact]
    public void PoliciesForDomainsNotAcceptedAreDroppedAndNoneLeftIsARefusal()
    {
        var report = _reader.ReadBody(TlsReportSamples.Json(TlsReportSamples.Microsoft), gzip: false);
        Assert.Equal(2, TlsReportReader.Keep(report, d => d == "company-y.example").Policies.Count);
        var refused = Assert.Throws<TlsReportRefusedException>(() => TlsReportReader.Keep(report, _ => false));
        Assert.Equal(("report for a domain not hosted here (company-y.example)", "Microsoft Corporation"), (refused.Message, refused.Organization));
    }

    private static byte[] ZerosGzipped(long length)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (long written = 0; written < length; written += zeros.Length) gzip.Write(zeros);
        }
        return buffer.ToArray();
    }

    [Theory]
    [InlineData("application/tlsrpt+json", "r.json", true, "declared JSON, but the body is gzip")]
    [InlineData("application/tlsrpt+gzip", "r.json.gz", false, "declared gzip, but the body is not gzip")]
    [InlineData("application/octet-stream", "r.json", true, "declared JSON, but the body is gzip")]
    [InlineData("application/octet-stream", "r.json.gz", false, "declared gzip, but the body is not gzip")]
    public void AMailPartIsDecodedAsItsTypeOrNameDeclaresAndAMismatchIsRefused(string type, string name, bool gzipped, string reason)
    {
        var json = TlsReportSamples.Json(TlsReportSamples.RfcExample);
        var mail = TlsReportSamples.Mail("r@sender.example", "tlsrpt@company-y.example", TlsReportSamples.Domain, "sender.example", "<1@sender.example>",
            type, name, gzipped ? TlsReportSamples.Gzip(json) : json);
        Assert.Equal(reason, Assert.Throws<TlsReportRefusedException>(() => _reader.ReadMessage(Message(mail))).Message);
    }

    [Fact]
    public void ABodyIsDecodedAsDeclaredAndAMismatchIsRefused()
    {
        var json = TlsReportSamples.Json(TlsReportSamples.RfcExample);
        Assert.Equal("declared JSON, but the body is gzip",
            Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(TlsReportSamples.Gzip(json), gzip: false)).Message);
        Assert.Equal("declared gzip, but the body is not gzip", Assert.Throws<TlsReportRefusedException>(() => _reader.ReadBody(json, gzip: true)).Message);
    }
}
