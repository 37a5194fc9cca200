using SecureMx.Config;
using SecureMx.MtaSts;

namespace SecureMx.Tests.MtaSts;

/// <summary>The policy SecureMx serves for a hosted domain: its text per mode, its MX names and its id.</summary>
public sealed class HostedMtaStsPolicyTests
{
    private static SecureMxOptions Options(Action<SecureMxOptions>? change = null)
    {
        var o = new SecureMxOptions { Hostname = "mx.provider.test", SecureMxHostname = "secure.provider.test" };
        change?.Invoke(o);
        return o;
    }

    [Theory]
    [InlineData(MtaStsMode.None, "none")]
    [InlineData(MtaStsMode.Testing, "testing")]
    [InlineData(MtaStsMode.Enforce, "enforce")]
    public void TheTextOfEachModeListsBothMxHostsAndAWeekAsMaxAge(MtaStsMode mode, string word)
    {
        var policy = HostedMtaStsPolicy.For("example.org", mode, inboundMandatory: false, Options());
        Assert.Equal($"version: STSv1\r\nmode: {word}\r\nmx: secure.provider.test\r\nmx: mx.provider.test\r\nmax_age: 604800\r\n", policy.Text);
        // What a sender reads back is the same policy.
        var (parsed, error) = MtaStsPolicy.Parse(policy.Text);
        Assert.Null(error);
        Assert.Equal(mode, parsed!.Mode);
        Assert.Equal(["secure.provider.test", "mx.provider.test"], parsed.Mx);
        Assert.Equal(TimeSpan.FromDays(7), parsed.MaxAge);
    }

    [Fact]
    public void WithInboundMandatoryTlsOnlyTheSecureMxIsListed()
    {
        var policy = HostedMtaStsPolicy.For("example.org", MtaStsMode.Enforce, inboundMandatory: true, Options());
        Assert.Equal(["secure.provider.test"], policy.Policy.Mx);
        Assert.True(policy.Policy.AllowsMx("secure.provider.test"));
        Assert.False(policy.Policy.AllowsMx("mx.provider.test"));
    }

    [Fact]
    public void TheOrdinaryMxIsNotListedWhenItIsOffOrTheSameHost()
    {
        Assert.Equal(["secure.provider.test"], HostedMtaStsPolicy.MxNames(Options(o => o.Listeners.Mx = "off"), inboundMandatory: false));
        Assert.Equal(["mx.provider.test"], HostedMtaStsPolicy.MxNames(Options(o => o.SecureMxHostname = ""), inboundMandatory: false));
        Assert.Equal(["mx.provider.test"], HostedMtaStsPolicy.MxNames(Options(o => o.SecureMxHostname = "MX.Provider.Test."), inboundMandatory: false));
    }

    [Fact]
    public void TheIdIs32HexDigitsOfTheTextAndTheSameOnEveryNode()
    {
        var a = HostedMtaStsPolicy.For("example.org", MtaStsMode.Testing, false, Options());
        var b = HostedMtaStsPolicy.For("example.org", MtaStsMode.Testing, false, Options());
        Assert.Equal(a.Id, b.Id);
        Assert.Matches("^[0-9a-f]{32}$", a.Id);
        Assert.True(MtaStsTxtRecord.IsValidId(a.Id));
        Assert.Equal(HostedMtaStsPolicy.IdOf(a.Text), a.Id);
        Assert.Equal($"v=STSv1; id={a.Id};", a.TxtRecord.ToText());
        Assert.Equal(a.Id, MtaStsTxtRecord.Parse(a.TxtRecord.ToText()).Record!.Id);
    }

    [Fact]
    public void TheIdChangesWhenTheInboundSwitchTheModeOrMaxAgeChanges()
    {
        var options = Options();
        var ids = new[]
        {
            HostedMtaStsPolicy.For("example.org", MtaStsMode.Testing, false, options).Id,
            HostedMtaStsPolicy.For("example.org", MtaStsMode.Testing, true, options).Id,
            HostedMtaStsPolicy.For("example.org", MtaStsMode.Enforce, true, options).Id,
            HostedMtaStsPolicy.For("example.org", MtaStsMode.Enforce, false, options).Id,
            HostedMtaStsPolicy.For("example.org", MtaStsMode.None, false, options).Id,
            HostedMtaStsPolicy.For("example.org", MtaStsMode.Enforce, false, Options(o => o.MtaSts.MaxAge = "2w")).Id,
        };
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void TheSamePolicyHasTheSameIdForEveryDomain()
    {
        // The text names no domain: the id says which policy, not whose.
        Assert.Equal(HostedMtaStsPolicy.For("a.test", MtaStsMode.Enforce, false, Options()).Id, HostedMtaStsPolicy.For("b.test", MtaStsMode.Enforce, false, Options()).Id);
    }

    [Theory]
    [InlineData("1d", 86400)]
    [InlineData("30s", 30)]
    [InlineData("1.5s", 1)]
    [InlineData("365d", 31536000)]
    public void MaxAgeIsTheConfiguredDurationInWholeSeconds(string maxAge, long seconds)
    {
        var policy = HostedMtaStsPolicy.For("example.org", MtaStsMode.Enforce, false, Options(o => o.MtaSts.MaxAge = maxAge));
        Assert.EndsWith($"max_age: {seconds}\r\n", policy.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enforce", MtaStsMode.Enforce)]
    [InlineData("TESTING", MtaStsMode.Testing)]
    [InlineData("none", MtaStsMode.None)]
    [InlineData("", MtaStsMode.None)]
    [InlineData("strict", MtaStsMode.None)]
    public void AStoredWordNoVersionWroteCountsAsNone(string stored, MtaStsMode mode)
    {
        Assert.Equal(mode, HostedMtaStsPolicies.ParseMode(stored));
    }
}
