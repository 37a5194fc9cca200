using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.MtaSts;

namespace SecureMx.Tests.Cli;

/// <summary>The MTA-STS records `securemx dns-records` prints: when, and with which id.</summary>
public sealed class DnsRecordsMtaStsTests
{
    private static SecureMxOptions Options(string listener = "0.0.0.0:443") => new()
    {
        Hostname = "mx.provider.test",
        SecureMxHostname = "secure.provider.test",
        Listeners = new ListenerOptions { MtaSts = listener },
    };

    private static string[] Lines(SecureMxOptions o, MtaStsMode mode, bool inboundMandatory = false) =>
        DnsRecordsCommand.MtaStsRecords("/var/lib/securemx", o, HostedMtaStsPolicy.For("example.org", mode, inboundMandatory, o)).ToArray();

    private static string[] Records(string[] lines) => lines.Where(l => l.Length > 0 && !l.StartsWith(';')).ToArray();

    [Theory]
    [InlineData(MtaStsMode.Testing)]
    [InlineData(MtaStsMode.Enforce)]
    public void WithAPolicyTheTxtRecordCarriesItsIdAndThePolicyHostPointsAtTheHostname(MtaStsMode mode)
    {
        var o = Options();
        var id = HostedMtaStsPolicy.For("example.org", mode, false, o).Id;
        var lines = Lines(o, mode);
        Assert.Equal(
        [
            $"_mta-sts.example.org.\tIN\tTXT\t\"v=STSv1; id={id};\"",
            "mta-sts.example.org.\tIN\tCNAME\tmx.provider.test.",
        ], Records(lines));
        var comments = string.Join("\n", lines.Where(l => l.StartsWith(';')));
        Assert.Contains("certificate from a public CA that names mta-sts.example.org", comments);
        Assert.Contains("mta-sts.example.org.pem and .key in /var/lib/securemx/tls/mta-sts", comments);
        Assert.Contains("listeners.mtaSts (now 0.0.0.0:443)", comments);
    }

    [Fact]
    public void TheIdPrintedChangesWithTheInboundSwitch()
    {
        var o = Options();
        Assert.NotEqual(Records(Lines(o, MtaStsMode.Enforce, false))[0], Records(Lines(o, MtaStsMode.Enforce, true))[0]);
    }

    [Fact]
    public void WithModeNoneTheRecordsAreOnlyCommentsForAWithdrawal()
    {
        var lines = Lines(Options(), MtaStsMode.None);
        Assert.Empty(Records(lines));
        Assert.Contains(lines, l => l.StartsWith("; _mta-sts.example.org.\tIN\tTXT\t\"v=STSv1; id=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("RFC 8461 §8.3", StringComparison.Ordinal) && l.Contains("max_age (7d)", StringComparison.Ordinal));
    }

    [Fact]
    public void WithTheListenerOffThereAreNoRecordsButAComment()
    {
        var lines = Lines(Options("off"), MtaStsMode.Enforce);
        Assert.Empty(Records(lines));
        Assert.Contains(lines, l => l.Contains("the MTA-STS listener is off (listeners.mtaSts", StringComparison.Ordinal));
    }
}
