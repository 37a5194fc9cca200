using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.MtaSts;

namespace SecureMx.Tests.Cli;

/// <summary>The <c>_smtp._tls</c> TXT record `securemx dns-records` prints (RFC 8460 §3): the report address, and the HTTPS endpoint with the MTA-STS listener.</summary>
public sealed class DnsRecordsTlsRptTests
{
    private static SecureMxOptions Options(string mtaSts = "off", string reportAddress = "tlsrpt@{domain}") => new()
    {
        Hostname = "mx.provider.test",
        Listeners = new ListenerOptions { MtaSts = mtaSts },
        TlsReporting = new TlsReportingOptions { ReportAddress = reportAddress },
    };

    private static string Record(SecureMxOptions o, MtaStsMode mode = MtaStsMode.Testing) =>
        DnsRecordsCommand.TlsRptRecords(o, "example.org", mode).Single(l => l.Length > 0 && !l.StartsWith(';'));

    [Fact]
    public void TheRecordNamesThePerDomainReportAddress()
    {
        Assert.Equal("_smtp._tls.example.org.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tlsrpt@example.org\"", Record(Options()));
    }

    [Fact]
    public void WithTheMtaStsListenerTheHttpsEndpointFollowsTheMailAddress()
    {
        Assert.Equal("_smtp._tls.example.org.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://mta-sts.example.org/tlsrpt\"", Record(Options("0.0.0.0:443")));
    }

    [Theory]
    [InlineData(MtaStsMode.Testing)]
    [InlineData(MtaStsMode.Enforce)]
    public void TheHttpsEndpointIsOfferedForAPublishedMtaStsPolicy(MtaStsMode mode)
    {
        Assert.EndsWith(",https://mta-sts.example.org/tlsrpt\"", Record(Options("0.0.0.0:443"), mode));
    }

    [Fact]
    public void WithMtaStsModeNoneOnlyTheMailAddressIsOffered()
    {
        // No mta-sts.example.org record is printed for mode none, so no sender could reach an https: URI there.
        Assert.Equal("_smtp._tls.example.org.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tlsrpt@example.org\"", Record(Options("0.0.0.0:443"), MtaStsMode.None));
    }

    [Fact]
    public void AFixedReportAddressIsTheSameForEveryDomain()
    {
        Assert.Equal("_smtp._tls.example.org.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tls-reports@provider.test\"", Record(Options(reportAddress: "TLS-Reports@provider.test")));
    }
}
