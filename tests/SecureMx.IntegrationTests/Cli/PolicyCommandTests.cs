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
    public async Task PolicyShowOfARecipientDomainShowsItsCachedMtaStsPolicyAndTheRule()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        var none = (await mx.Cli("policy", "show", "sts.test")).StdOut;
        Assert.Contains("  mta-sts: no cached policy for sts.test (looked up at the next delivery; `securemx probe sts.test` shows it now)\n", none);

        // What the policy cache of a running server stores after a fetch (MtaSts/MtaStsPolicyCache).
        var now = DateTimeOffset.UtcNow;
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(mx.DataDir, "securemx.db")};Pooling=False"))
        {
            await db.OpenAsync(TestContext.Current.CancellationToken);
            var cmd = db.CreateCommand();
            cmd.CommandText = "INSERT INTO mta_sts_policies(domain, policy_id, policy, fetched_at, expires_at, checked_at, last_error) VALUES('sts.test', 'abc123', $p, $f, $e, $f, NULL)";
            cmd.Parameters.AddWithValue("$p", "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmx: *.backup.sts.test\r\nmax_age: 604800\r\n");
            cmd.Parameters.AddWithValue("$f", now.AddHours(-1).ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$e", now.AddDays(6).ToUnixTimeMilliseconds());
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        var show = await mx.Cli("policy", "show", "sts.test");
        Assert.True(show.ExitCode == 0, show.All);
        Assert.Matches(@"(?m)^  mta-sts: enforce \(id abc123\), fetched \S+Z, expires \S+Z$", show.StdOut);
        Assert.Contains("    mx: mx.sts.test, *.backup.sts.test\n", show.StdOut);
        Assert.Contains("    rule: mail to this domain goes only to the MX hosts listed above", show.StdOut);
        Assert.Contains("    a recipient domain's MTA-STS policy (enforce) requires a listed MX host and a verified (PKIX) certificate on top (per domain, at delivery)\n", show.StdOut);
        Assert.Matches(@"(?m)^mta-sts sts\.test: enforce \(id abc123\), expires \S+Z$", (await mx.Cli("policy", "show")).StdOut);

        // The operator's override switches it off.
        await mx.CliOk("policy", "destination", "sts.test", "may");
        Assert.Contains("    rule: not used for mail to this domain: the destination entry is below dane", (await mx.Cli("policy", "show", "sts.test")).StdOut);
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
