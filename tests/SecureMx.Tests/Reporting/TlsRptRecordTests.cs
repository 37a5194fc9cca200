using SecureMx.Dns;
using SecureMx.Reporting;

namespace SecureMx.Tests.Reporting;

/// <summary>The "_smtp._tls" TXT record (RFC 8460 §3): which records count, which URIs are used, hostile records bounded.</summary>
public sealed class TlsRptRecordTests
{
    private static TlsRptRecord Parsed(string text)
    {
        var (record, error) = TlsRptRecord.Parse(text);
        Assert.Null(error);
        return record!;
    }

    [Fact]
    public void TheRecordsMailtoAndHttpsUrisAreRead()
    {
        var record = Parsed("v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://reports.example.org/v1/tlsrpt");
        Assert.Equal(["tlsrpt@example.org"], record.MailTo);
        Assert.Equal([new Uri("https://reports.example.org/v1/tlsrpt")], record.Https);
        Assert.Empty(record.Ignored);
    }

    [Fact]
    public void WhiteSpaceAroundDelimitersATrailingSemicolonAndUnknownFieldsAreAccepted()
    {
        var record = Parsed("v=TLSRPTv1 ;  rua=mailto:a@example.org , mailto:b@example.org ; ext=whatever;");
        Assert.Equal(["a@example.org", "b@example.org"], record.MailTo);
    }

    [Fact]
    public void AMailtoQueryIsDroppedAndEscapesDecoded()
    {
        Assert.Equal(["tls.rpt@example.org"], Parsed("v=TLSRPTv1; rua=mailto:tls%2Erpt@example.org?subject=hi").MailTo);
    }

    [Fact]
    public void OtherSchemesAndBrokenUrisAreIgnoredAndNamed()
    {
        var record = Parsed("v=TLSRPTv1; rua=http://plain.example.org/,mailto:not-an-address,ftp://x,https://ok.example.org/r");
        Assert.Empty(record.MailTo);
        Assert.Single(record.Https);
        Assert.Equal(3, record.Ignored.Count);
        Assert.Contains(record.Ignored, i => i.StartsWith("http://plain.example.org/", StringComparison.Ordinal));
        Assert.Contains(record.Ignored, i => i.Contains("not an address", StringComparison.Ordinal));
    }

    [Fact]
    public void NoUsableUriMeansNoReport()
    {
        Assert.False(Parsed("v=TLSRPTv1; rua=http://plain.example.org/").HasUris);
    }

    [Fact]
    public void OnlyTheFirstTenUrisAreUsed()
    {
        var uris = string.Join(",", Enumerable.Range(0, 100).Select(i => $"mailto:r{i}@example.org"));
        var record = Parsed("v=TLSRPTv1; rua=" + uris);
        Assert.Equal(TlsRptRecord.MaxUris, record.MailTo.Count);
        Assert.Equal(90, record.Ignored.Count);
    }

    [Fact]
    public void AHugeRecordIsRefused()
    {
        var (record, error) = TlsRptRecord.Parse("v=TLSRPTv1; rua=mailto:a@example.org; x=" + new string('a', 100_000));
        Assert.Null(record);
        Assert.Contains("more than the 4096", error);
    }

    [Theory]
    [InlineData("v=TLSRPTv1; garbage", "not key=value")]
    [InlineData("v=TLSRPTv1; ext=1", "no rua")]
    [InlineData("v=TLSRPTv1;; rua=mailto:a@example.org", "not key=value")]
    public void ABrokenRecordIsNone(string text, string why)
    {
        var (record, error) = TlsRptRecord.Parse(text);
        Assert.Null(record);
        Assert.Contains(why, error);
    }

    [Fact]
    public void RecordsNotBeginningWithTheVersionAreDiscarded()
    {
        var (record, error) = TlsRptRecord.Select(["v=spf1 -all", "v=TLSRPTv10; rua=mailto:x@example.org", "v=TLSRPTv1; rua=mailto:a@example.org"]);
        Assert.Null(error);
        Assert.Equal(["a@example.org"], record!.MailTo);
        Assert.Equal((null, null), TlsRptRecord.Select(["v=spf1 -all", "rua=mailto:a@example.org"]));
    }

    [Fact]
    public void TwoTlsrptRecordsMeanTheDomainDoesNotImplementIt()
    {
        var (record, error) = TlsRptRecord.Select(["v=TLSRPTv1; rua=mailto:a@example.org", "v=TLSRPTv1; rua=mailto:b@example.org"]);
        Assert.Null(record);
        Assert.Contains("more than one", error);
    }

    [Fact]
    public async Task TheLookupAsksForTheSmtpTlsNameAndTellsATemporaryFailureApart()
    {
        var dns = new ReportingDns();
        dns.Txt["_smtp._tls.example.org"] = ["v=TLSRPTv1; rua=mailto:a@example.org"];
        dns.Txt["_smtp._tls.broken.example"] = null;
        var ct = TestContext.Current.CancellationToken;

        var found = await TlsRptLookup.Find(dns, "example.org", ct);
        var none = await TlsRptLookup.Find(dns, "other.example", ct);
        var failed = await TlsRptLookup.Find(dns, "broken.example", ct);

        Assert.Equal(TlsRptLookupKind.Record, found.Kind);
        Assert.Equal(["a@example.org"], found.Record!.MailTo);
        Assert.Equal(TlsRptLookupKind.NoRecord, none.Kind);
        Assert.Equal(TlsRptLookupKind.TemporaryFailure, failed.Kind);
        Assert.Contains("SERVFAIL", failed.Reason);
        Assert.Equal(["_smtp._tls.example.org", "_smtp._tls.other.example", "_smtp._tls.broken.example"], dns.TxtAsked);
    }
}
