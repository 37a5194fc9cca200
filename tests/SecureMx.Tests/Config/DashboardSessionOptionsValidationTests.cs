using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>dashboard.sessionMaxLifetime is a duration of at least a minute; dashboard.hsts is auto, true or false.</summary>
public sealed class DashboardSessionOptionsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DashboardSessionOptionsValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(string maxLifetime, string hsts) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Dashboard = { SessionMaxLifetime = maxLifetime, Hsts = hsts } }, _dir.Path);

    [Fact]
    public void TheDefaultsAreTwelveHoursAndAuto()
    {
        var options = new SecureMxOptions();
        Assert.Equal("12h", options.Dashboard.SessionMaxLifetime);
        Assert.Equal("auto", options.Dashboard.Hsts);
        Validate(options.Dashboard.SessionMaxLifetime, options.Dashboard.Hsts);
    }

    [Theory]
    [InlineData("1m", "true")]
    [InlineData("8h", "false")]
    [InlineData("1d", "True")]
    public void DurationsOfAMinuteOrMoreAndTheThreeWordsAreAccepted(string maxLifetime, string hsts) => Validate(maxLifetime, hsts);

    [Theory]
    [InlineData("30s", "auto", "dashboard.sessionMaxLifetime")]
    [InlineData("0", "auto", "dashboard.sessionMaxLifetime")]
    [InlineData("forever", "auto", "dashboard.sessionMaxLifetime")]
    [InlineData("12h", "yes", "dashboard.hsts")]
    [InlineData("12h", "", "dashboard.hsts")]
    public void AnythingElseIsRefusedNamingTheKey(string maxLifetime, string hsts, string key)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(maxLifetime, hsts));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
