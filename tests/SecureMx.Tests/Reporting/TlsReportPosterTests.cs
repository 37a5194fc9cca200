using System.IO.Compression;
using SecureMx.Config;
using SecureMx.Reporting;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// The HTTPS POST of a report (RFC 8460 §5.4) against a real HTTPS collector on 127.0.0.1 whose
/// certificate a private CA issued (given as a trust anchor), its name resolved by the test's resolver only.
/// </summary>
public sealed class TlsReportPosterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TestCertificate _certificate = TestCertificates.IssuedByPrivateCa("reports.example.org");
    private readonly PkixTrust _trust;
    private readonly ReportingDns _dns = new() { Hosts = { "reports.example.org", "wrong-name.example.org" } };

    public TlsReportPosterTests() => _trust = PkixTrust.Load(_certificate.WritePem(_dir.Path, "collector").CaFile!);

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TlsReportPoster Poster(PkixTrust? trust = null, TimeSpan? timeout = null) =>
        new(_dns, trust ?? _trust, new SecureMxOptions { Hostname = "mx.sender.test" }, timeout: timeout);

    private static byte[] Gzip() => TlsReportMailTests.Report().ToGzip();

    [Fact]
    public async Task ThePostCarriesTheGzipReportAsApplicationTlsrptGzipAndA200IsDelivery()
    {
        await using var collector = new ReportCollectorStub(_certificate);
        var body = Gzip();

        var result = await Poster().PostAsync(new Uri($"https://reports.example.org:{collector.Port}/v1/tlsrpt"), body, Ct);

        Assert.True(result.Delivered, result.Detail);
        var (head, received) = Assert.Single(collector.Requests);
        Assert.StartsWith("POST /v1/tlsrpt HTTP/1.1\r\n", head);
        Assert.Contains("Content-Type: application/tlsrpt+gzip\r\n", head);
        Assert.Equal(body, received);
        using var json = System.Text.Json.JsonDocument.Parse(new GZipStream(new MemoryStream(received), CompressionMode.Decompress));
        Assert.Equal("example.org", json.RootElement.GetProperty("policies")[0].GetProperty("policy").GetProperty("policy-domain").GetString());
    }

    [Theory]
    [InlineData(201, true)]
    [InlineData(500, false)]
    [InlineData(404, false)]
    [InlineData(302, false)]
    public async Task Only2xxIsDeliveryAndRedirectsAreNotFollowed(int status, bool delivered)
    {
        await using var collector = new ReportCollectorStub(_certificate) { Status = status };

        var result = await Poster().PostAsync(new Uri($"https://reports.example.org:{collector.Port}/r"), Gzip(), Ct);

        Assert.Equal(delivered, result.Delivered);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Detail);
        Assert.Single(collector.Requests);
    }

    [Fact]
    public async Task ACollectorWhoseCertificateIsNotTrustedGetsNothing()
    {
        await using var collector = new ReportCollectorStub(_certificate);

        var result = await Poster(PkixTrust.SystemOnly).PostAsync(new Uri($"https://reports.example.org:{collector.Port}/r"), Gzip(), Ct);

        Assert.False(result.Delivered);
        Assert.Contains("certificate", result.Detail);
        Assert.Empty(collector.Requests);
    }

    [Fact]
    public async Task ACertificateForAnotherNameIsRefused()
    {
        await using var collector = new ReportCollectorStub(_certificate);

        var result = await Poster().PostAsync(new Uri($"https://wrong-name.example.org:{collector.Port}/r"), Gzip(), Ct);

        Assert.False(result.Delivered);
        Assert.Contains("certificate", result.Detail);
        Assert.Empty(collector.Requests);
    }

    [Fact]
    public async Task AHostTheResolverDoesNotKnowIsNotAsked()
    {
        var result = await Poster().PostAsync(new Uri("https://unknown.example.org/r"), Gzip(), Ct);

        Assert.False(result.Delivered);
        Assert.Contains("no address", result.Detail);
    }

    [Fact]
    public async Task ACollectorThatIsDownIsAFailureNotAnException()
    {
        var port = LoopbackPort.Closed();

        var result = await Poster().PostAsync(new Uri($"https://reports.example.org:{port}/r"), Gzip(), Ct);

        Assert.False(result.Delivered);
        Assert.Contains("ConnectionRefused", result.Detail);
    }

    [Fact]
    public async Task ACollectorThatNeverAnswersIsGivenUpAfterTheTimeout()
    {
        await using var collector = new ReportCollectorStub(_certificate) { Silent = true };
        var started = DateTime.UtcNow;

        var result = await Poster(timeout: TimeSpan.FromSeconds(2)).PostAsync(new Uri($"https://reports.example.org:{collector.Port}/r"), Gzip(), Ct);

        Assert.False(result.Delivered);
        Assert.Contains("no answer within 2 s", result.Detail);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }
}
