using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// securemx policy destination and policy show: a destination entry replaces the global default in
/// either direction, and the output says the rule (that it never lowers a sender's mandatory TLS is
/// pinned by the unit tests of OutboundTlsPolicy).
/// </summary>
public sealed class PolicyCommandTests
{
    [Fact]
    public async Task ALenientDestinationEntryReplacesTheDefaultAndPolicyShowExplainsIt()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);

        var set = await mx.Cli("policy", "destination", "legacy.test", "may");
        Assert.True(set.ExitCode == 0, set.All);
        Assert.Contains("destination legacy.test: (none) -> may", set.StdOut);
        Assert.Contains("note: may replaces the global default for mail to legacy.test; a sender's mandatory TLS still applies, and DNSSEC-secure TLSA records of legacy.test's MX hosts are not used.", set.StdOut);

        var show = await mx.Cli("policy", "show", "legacy.test");
        Assert.True(show.ExitCode == 0, show.All);
        Assert.Contains("  mail to this domain (sender without mandatory TLS): may (strictest of:)\n", show.StdOut);
        Assert.Matches(@"(?m)^    may\s+from destination legacy\.test  <- decides$", show.StdOut);
        Assert.Contains("    the destination entry replaces the global default (delivery.defaultTlsLevel), dane, for this domain\n", show.StdOut);
        Assert.Contains("    DNSSEC-secure TLSA records are not used: the destination entry is below dane\n", show.StdOut);

        var all = await mx.Cli("policy", "show");
        Assert.Contains("destination table: an entry replaces the global default for its domain, stricter or more lenient;", all.StdOut);
        Assert.Contains("destination legacy.test: may\n", all.StdOut);
    }

    [Fact]
    public async Task AStricterDestinationEntryDecidesAndKeepsDane()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.CliOk("policy", "destination", "bank.test", "verify");
        var bank = (await mx.Cli("policy", "show", "bank.test")).StdOut;
        Assert.Contains("mail to this domain (sender without mandatory TLS): verify (strictest of:)", bank);
        Assert.Matches(@"(?m)^    verify\s+from destination bank\.test  <- decides$", bank);
        Assert.Contains("DNSSEC-secure TLSA records of an MX host force DANE on top (per host, at delivery)", bank);
    }

    [Fact]
    public async Task SwitchingOutboundMandatoryTlsOnNamesTheConfiguredWarningAndBounceTimes()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"],
            configure: cfg => { cfg["queue"]!["delayWarningAfter"] = "2h"; cfg["queue"]!["tlsExpireAfter"] = "12h"; });
        var on = await mx.Cli("policy", "outbound", "alice@example.test", "mandatory");
        Assert.True(on.ExitCode == 0, on.All);
        Assert.Contains("the sender is warned after 2h (queue.delayWarningAfter) and it bounces after 12h (queue.tlsExpireAfter).", on.StdOut);
    }
}
