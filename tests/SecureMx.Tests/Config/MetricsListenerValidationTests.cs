using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>listeners.metrics: off by default, any ADDR:PORT (loopback recommended, not required), garbage refused naming the key.</summary>
public sealed class MetricsListenerValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public MetricsListenerValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(string metrics) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Listeners = { Metrics = metrics } }, _dir.Path);

    [Fact]
    public void TheDefaultIsOff() => Assert.Equal("off", new SecureMxOptions().Listeners.Metrics);

    [Theory]
    [InlineData("off")]
    [InlineData("127.0.0.1:9465")]
    [InlineData("[::1]:9465")]
    [InlineData("192.0.2.10:9465")]
    public void OffAndEndpointsAreAccepted(string value) => Validate(value);

    [Theory]
    [InlineData("9465")]
    [InlineData("localhost:http")]
    [InlineData("127.0.0.1:70000")]
    public void AnythingElseIsRefusedNamingTheKey(string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(value));
        Assert.Contains("listeners.metrics", ex.Message);
    }
}
