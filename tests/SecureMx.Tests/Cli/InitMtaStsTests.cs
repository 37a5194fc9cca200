using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>init --mta-sts: written to listeners.mtaSts, validated before anything is written, off when not named.</summary>
public sealed class InitMtaStsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void Init(string data, string? mtaSts) =>
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null, mtaSts: mtaSts);

    [Theory]
    [InlineData("127.0.0.1:8444", "127.0.0.1:8444")]
    [InlineData(null, "off")]
    public void TheListenerIsWrittenToTheConfiguration(string? flag, string expected)
    {
        var data = _dir.Combine("instance");
        Init(data, flag);
        Assert.Equal(expected, ConfigLoader.Load(data).Listeners.MtaSts);
    }

    [Fact]
    public void AnEndpointThatIsNoneIsRefusedNamingTheFlagAndWritesNothing()
    {
        var data = _dir.Combine("instance");
        var ex = Assert.Throws<CliException>(() => Init(data, "mta-sts.example.test:443"));
        Assert.Contains("--mta-sts", ex.Message);
        Assert.False(Directory.Exists(data));
    }
}
