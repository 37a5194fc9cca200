using SecureMx.Cli;
using SecureMx.MtaSts;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>`securemx policy show DOMAIN`'s source mta-sts: the cached policy of a recipient domain, read from the store, and the rule it makes.</summary>
public sealed class MtaStsPolicyShowTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    private MtaStsPolicyRow Cached(MtaStsMode mode, string? lastError = null, TimeSpan? left = null)
    {
        var repository = new MtaStsPolicyRepository(_store.Database);
        var policy = new MtaStsPolicy(mode, mode == MtaStsMode.None ? [] : ["mx1.example.net", "*.mx.example.net"], TimeSpan.FromDays(7));
        repository.Save(new MtaStsPolicyRow("example.net", "id2030", policy.ToText(), Now.AddDays(-1), Now + (left ?? TimeSpan.FromDays(6)), Now.AddHours(-1), null));
        if (lastError is not null) repository.RecordCheck("example.net", Now.AddMinutes(-5), lastError);
        return repository.Get("example.net")!;
    }

    [Fact]
    public void AnEnforcedPolicyShowsModeIdMxExpiryAndTheRule()
    {
        var lines = MtaStsPolicyShow.Lines("example.net", Cached(MtaStsMode.Enforce), usesDane: true, Now);
        Assert.Equal("  mta-sts: enforce (id id2030), fetched 2030-04-30T12:00:00Z, expires 2030-05-07T12:00:00Z", lines[0]);
        Assert.Equal("    mx: mx1.example.net, *.mx.example.net", lines[1]);
        Assert.Equal("    last checked 2030-05-01T11:00:00Z: ok", lines[2]);
        Assert.StartsWith("    rule: mail to this domain goes only to the MX hosts listed above, over TLS 1.2+ with secure ciphers and a certificate valid (PKIX) for the MX name;", lines[3]);
        Assert.Contains("DNSSEC-secure TLSA records of an MX host take precedence (DANE)", lines[3]);
    }

    [Fact]
    public void AFailedRefreshIsShownAndThePolicyStaysInUse()
    {
        var lines = MtaStsPolicyShow.Lines("example.net", Cached(MtaStsMode.Testing, lastError: "sts-policy-fetch-error: connection refused"), usesDane: true, Now);
        Assert.Contains("    last checked 2030-05-01T11:55:00Z: refresh failed: sts-policy-fetch-error: connection refused (the cached policy stays in use until it expires)", lines);
        Assert.Contains(lines, l => l.StartsWith("    rule: delivered as without MTA-STS; what enforce would refuse is logged", StringComparison.Ordinal));
    }

    [Fact]
    public void AnExpiredPolicyIsNotUsed()
    {
        var lines = MtaStsPolicyShow.Lines("example.net", Cached(MtaStsMode.Enforce, left: TimeSpan.FromMinutes(-1)), usesDane: true, Now);
        Assert.EndsWith("(expired: not used)", lines[0]);
        Assert.StartsWith("    rule: none until a valid policy is fetched again", lines[^1]);
    }

    [Fact]
    public void ADestinationEntryBelowDaneSwitchesItOff()
    {
        var lines = MtaStsPolicyShow.Lines("example.net", Cached(MtaStsMode.Enforce), usesDane: false, Now);
        Assert.StartsWith("    rule: not used for mail to this domain: the destination entry is below dane", lines[^1]);
        Assert.Equal("    not used for mail to this domain: the destination entry is below dane", MtaStsPolicyShow.Lines("example.net", null, usesDane: false, Now)[^1]);
    }

    [Fact]
    public void TheListOfEveryCachedPolicyHasOneLineEach()
    {
        Assert.Equal("mta-sts example.net: enforce (id id2030), expires 2030-05-07T12:00:00Z", MtaStsPolicyShow.Summary(Cached(MtaStsMode.Enforce), Now));
        Assert.Equal("mta-sts example.net: testing (id id2030), expires 2030-05-07T12:00:00Z; last refresh failed: sts-policy-fetch-error: timeout",
            MtaStsPolicyShow.Summary(Cached(MtaStsMode.Testing, lastError: "sts-policy-fetch-error: timeout"), Now));
    }

    [Fact]
    public void WithoutACachedPolicyItSaysSoAndPointsToProbe()
    {
        Assert.Equal(["  mta-sts: no cached policy for example.net (looked up at the next delivery; `securemx probe example.net` shows it now)"],
            MtaStsPolicyShow.Lines("example.net", null, usesDane: true, Now));
    }
}
