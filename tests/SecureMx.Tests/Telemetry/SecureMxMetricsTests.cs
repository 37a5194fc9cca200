using System.Diagnostics.Metrics;
using System.Reflection;
using SecureMx.Telemetry;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Telemetry;

/// <summary>
/// The metrics are an interface operators' monitoring is built on: every instrument belongs to the
/// one meter, has a unique name in the securemx.* convention, and is named in the README.
/// </summary>
public sealed class SecureMxMetricsTests
{
    private static List<Instrument> Instruments() =>
        typeof(SecureMxMetrics).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => typeof(Instrument).IsAssignableFrom(f.FieldType))
            .Select(f => (Instrument)f.GetValue(null)!)
            .ToList();

    [Fact]
    public void EveryInstrumentIsOnTheSecureMxMeterWithAUniqueConventionalName()
    {
        var instruments = Instruments();
        Assert.NotEmpty(instruments);
        Assert.All(instruments, i =>
        {
            Assert.Same(SecureMxMetrics.Meter, i.Meter);
            Assert.Matches(@"^securemx\.[a-z]+\.[a-z_]+$", i.Name);
            Assert.False(string.IsNullOrWhiteSpace(i.Description), i.Name + " has no description");
        });
        Assert.Equal(instruments.Count, instruments.Select(i => i.Name).Distinct().Count());
    }

    [Fact]
    public void EveryInstrumentIsNamedInTheReadme()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var missing = Instruments().Select(i => i.Name).Where(n => !readme.Contains($"`{n}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "instruments the README does not name: " + string.Join(", ", missing));
    }
}
