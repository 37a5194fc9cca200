using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>mtaSts.fetchTimeoutSeconds and mtaSts.policyPort (RFC 8461's minute and 443 by default, out-of-range values refused naming the key), and delivery.trustAnchorsFile, which the policy fetch trusts.</summary>
public sealed class MtaStsFetchOptionsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public MtaStsFetchOptionsValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(int fetchTimeoutSeconds, int policyPort) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", MtaSts = { FetchTimeoutSeconds = fetchTimeoutSeconds, PolicyPort = policyPort } }, _dir.Path);

    [Fact]
    public void TheDefaultsAreAMinuteAndPort443()
    {
        var options = new SecureMxOptions();
        Assert.Equal((60, 443), (options.MtaSts.FetchTimeoutSeconds, options.MtaSts.PolicyPort));
        Validate(60, 443);
        Validate(1, 8443);
        Validate(600, 65535);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(601)]
    public void AFetchTimeoutOutsideOneToSixHundredSecondsIsRefused(int seconds) =>
        Assert.Contains("mtaSts.fetchTimeoutSeconds: 1 to 600", Assert.Throws<ConfigException>(() => Validate(seconds, 443)).Message);

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void APortOutsideOneTo65535IsRefused(int port) =>
        Assert.Contains("mtaSts.policyPort: 1 to 65535", Assert.Throws<ConfigException>(() => Validate(60, port)).Message);

    [Fact]
    public void ATrustAnchorsFileThatDoesNotExistIsRefusedAndARelativeOneIsFoundInTheDataDirectory()
    {
        var options = new SecureMxOptions { Hostname = "mx.example.test", Delivery = { TrustAnchorsFile = "anchors.pem" } };
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(options, _dir.Path));
        Assert.Contains($"delivery.trustAnchorsFile: {_dir.Combine("anchors.pem")} not found", error.Message);
        File.WriteAllText(_dir.Combine("anchors.pem"), "");
        ConfigLoader.Validate(options, _dir.Path);
    }
}
