using System.Text.Json.Nodes;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Queue;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>A reload (SIGHUP) against a real instance directory: what it applies, what it refuses, what it leaves for a restart.</summary>
public sealed class InstanceReloaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _data;
    private readonly SecureMxOptions _running;
    private readonly ServerCertificateSource _certificates;
    private readonly ListLogger _log = new();
    private readonly List<QueueTimeRules> _rules = new();
    private readonly InstanceReloader _reloader;

    public InstanceReloaderTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        _running = ConfigLoader.Load(_data);
        _certificates = ServerCertificateSource.Load(ConfigLoader.ResolvePath(_data, _running.Tls.Certificate), ConfigLoader.ResolvePath(_data, _running.Tls.Key));
        _reloader = new InstanceReloader(_data, [], _running, _certificates, _rules.Add, _log);
    }

    public void Dispose() => _dir.Dispose();

    private void EditConfig(Action<JsonNode> edit)
    {
        var file = Path.Combine(_data, ConfigLoader.FileName);
        var json = JsonNode.Parse(File.ReadAllText(file))!;
        edit(json);
        File.WriteAllText(file, json.ToJsonString());
    }

    [Fact]
    public void ReloadableKeysTakeEffectAndAreLogged()
    {
        EditConfig(j =>
        {
            j["limits"]!["maxRecipients"] = 3;
            j["queue"]!["expireAfter"] = "2d";
        });

        var result = _reloader.Reload("SIGHUP");

        Assert.Equal(ConfigReloadOutcome.Applied, result.Configuration);
        Assert.Equal(3, _running.Limits.MaxRecipients);
        Assert.Equal("2d", _running.Queue.ExpireAfter);
        Assert.Equal(TimeSpan.FromDays(2), Assert.Single(_rules).ExpireAfter);
        Assert.Contains(_log.Lines, l => l.StartsWith("Information:") && l.Contains("limits.maxRecipients changed from 100 to 3"));
    }

    [Fact]
    public void AListenerChangeIsReportedAndLeftForARestart()
    {
        var mx = _running.Listeners.Mx;
        EditConfig(j =>
        {
            j["listeners"]!["mx"] = "127.0.0.1:2999";
            j["limits"]!["maxConnections"] = 3;
            j["limits"]!["maxErrors"] = 4;
        });

        var result = _reloader.Reload("SIGHUP");

        Assert.Equal(ConfigReloadOutcome.AppliedRestartPending, result.Configuration);
        Assert.Equal(mx, _running.Listeners.Mx);
        Assert.Equal(500, _running.Limits.MaxConnections);
        Assert.Equal(4, _running.Limits.MaxErrors);
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning:") && l.Contains("listeners.mx") && l.Contains("only after a restart"));
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning:") && l.Contains("limits.maxConnections") && l.Contains("only after a restart"));
    }

    [Theory]
    [InlineData("{ this is not json")]
    [InlineData("{\"hostname\": \"mx.example.test\", \"limits\": {\"maxRecipients\": 0}}")]
    [InlineData("{\"hostname\": \"mx.example.test\", \"limits\": {\"noSuchKey\": 1}}")]
    [InlineData("{\"hostname\": \"mx.example.test\", \"queue\": {\"retrySchedule\": \"soon\"}}")]
    public void ABadFileIsRefusedAndNothingChanges(string content)
    {
        var limits = _running.Limits;
        var queue = _running.Queue;
        File.WriteAllText(Path.Combine(_data, ConfigLoader.FileName), content);

        var result = _reloader.Reload("SIGHUP");

        Assert.Equal(ConfigReloadOutcome.Refused, result.Configuration);
        Assert.Same(limits, _running.Limits);
        Assert.Same(queue, _running.Queue);
        Assert.Empty(_rules);
        Assert.Contains(_log.Lines, l => l.StartsWith("Error:") && l.Contains("refused, the server keeps running with the previous configuration"));
    }

    [Fact]
    public void AMissingFileIsRefused()
    {
        File.Delete(Path.Combine(_data, ConfigLoader.FileName));

        Assert.Equal(ConfigReloadOutcome.Refused, _reloader.Reload("SIGHUP").Configuration);
        Assert.Empty(_rules);
    }

    [Fact]
    public void ABrokenKeyIsRefusedWhileTheConfigurationIsStillApplied()
    {
        var before = _certificates.Current;
        File.WriteAllText(ConfigLoader.ResolvePath(_data, _running.Tls.Key), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        EditConfig(j => j["limits"]!["maxRecipients"] = 5);

        var result = _reloader.Reload("SIGHUP");

        Assert.Equal(CertificateReloadOutcome.Refused, result.Certificate.Outcome);
        Assert.Same(before, _certificates.Current);
        Assert.Equal(5, _running.Limits.MaxRecipients);
        Assert.Contains(_log.Lines, l => l.StartsWith("Error:") && l.Contains("keeps using the previous certificate"));
    }

    [Fact]
    public void ARenewedPairIsSwappedAndLogged()
    {
        var before = _certificates.Current!;
        var (cert, key) = CertificateFactory.CreateSelfSigned("mx.example.test", TimeProvider.System);
        File.WriteAllText(ConfigLoader.ResolvePath(_data, _running.Tls.Certificate), cert);
        File.WriteAllText(ConfigLoader.ResolvePath(_data, _running.Tls.Key), key);

        var result = _reloader.Reload("SIGHUP");

        Assert.Equal(CertificateReloadOutcome.Swapped, result.Certificate.Outcome);
        Assert.NotEqual(before.Certificate.Thumbprint, _certificates.Current!.Certificate.Thumbprint);
        Assert.Equal(ConfigReloadOutcome.Unchanged, result.Configuration);
        Assert.Contains(_log.Lines, l => l.Contains("new connections now use"));
    }
}
