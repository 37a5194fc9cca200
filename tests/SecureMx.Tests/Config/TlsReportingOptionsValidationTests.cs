using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>tlsReporting.maxReportBytes and maxReportJsonBytes: the JSON limit at least the report limit and at most 1 GiB (one MemoryStream holds it).</summary>
public sealed class TlsReportingOptionsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public TlsReportingOptionsValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(long maxReportJsonBytes) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", TlsReporting = { MaxReportJsonBytes = maxReportJsonBytes } }, _dir.Path);

    [Theory]
    [InlineData(20L * 1024 * 1024)]
    [InlineData(1L << 30)]
    public void AJsonLimitUpToOneGibibyteIsTaken(long bytes) => Validate(bytes);

    [Theory]
    [InlineData((1L << 30) + 1)]
    [InlineData(1L << 31)]
    [InlineData(1024)]
    public void AJsonLimitAboveOneGibibyteOrBelowTheReportLimitIsRefused(long bytes) =>
        Assert.Contains("tlsReporting.maxReportJsonBytes: at least tlsReporting.maxReportBytes, at most 1073741824",
            Assert.Throws<ConfigException>(() => Validate(bytes)).Message);
}
