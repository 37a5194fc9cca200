using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>listeners.mtaSts (off by default) and mtaSts.maxAge: accepted values, and garbage refused naming the key.</summary>
public sealed class MtaStsOptionsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public MtaStsOptionsValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(Action<SecureMxOptions> change)
    {
        var options = new SecureMxOptions { Hostname = "mx.example.test" };
        change(options);
        ConfigLoader.Validate(options, _dir.Path);
    }

    [Fact]
    public void TheDefaultsAreOffAWeekAndTlsMtaSts()
    {
        var o = new SecureMxOptions();
        Assert.Equal(("off", "1w", "tls/mta-sts"), (o.Listeners.MtaSts, o.MtaSts.MaxAge, o.MtaSts.CertificateDirectory));
        Validate(_ => { });
    }

    [Theory]
    [InlineData("off")]
    [InlineData("0.0.0.0:443")]
    [InlineData("[::1]:8444")]
    public void OffAndEndpointsAreAccepted(string value) => Validate(o => o.Listeners.MtaSts = value);

    [Theory]
    [InlineData("443")]
    [InlineData("")]
    [InlineData("mta-sts.example.test:443")]
    public void AnythingElseIsRefusedNamingTheKey(string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(o => o.Listeners.MtaSts = value));
        Assert.Contains("listeners.mtaSts", ex.Message);
    }

    [Fact]
    public void ADualStackListenerOnTheSamePortIsAConflict()
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(o => { o.Listeners.MtaSts = "[::]:8443"; o.Listeners.Dashboard = "127.0.0.1:8443"; }));
        Assert.Contains("listeners.mtaSts", ex.Message);
    }

    [Theory]
    [InlineData("1w")]
    [InlineData("1d")]
    [InlineData("1s")]
    [InlineData("31557600")]
    public void MaxAgeFromASecondToAYearIsAccepted(string value) => Validate(o => o.MtaSts.MaxAge = value);

    [Theory]
    [InlineData("0s")]
    [InlineData("0.5s")]
    [InlineData("31557601")]
    [InlineData("2y")]
    [InlineData("forever")]
    public void AnotherMaxAgeIsRefusedNamingTheKey(string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(o => o.MtaSts.MaxAge = value));
        Assert.Contains("mtaSts.maxAge", ex.Message);
    }
}
