using SecureMx.MtaSts;

namespace SecureMx.Tests.MtaSts;

/// <summary>The policy body (RFC 8461 §3.2) and the MX pattern rule (§4.1).</summary>
public sealed class MtaStsPolicyTests
{
    // RFC 8461 §3.2's example, as served (CRLF).
    private const string RfcExample = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    [Fact]
    public void TheRfcExampleParses()
    {
        var (policy, error) = MtaStsPolicy.Parse(RfcExample);
        Assert.Null(error);
        Assert.NotNull(policy);
        Assert.Equal(MtaStsMode.Enforce, policy.Mode);
        Assert.Equal(["mail.example.com", "*.example.net", "backupmx.example.com"], policy.Mx);
        Assert.Equal(TimeSpan.FromSeconds(604800), policy.MaxAge);
    }

    [Fact]
    public void LfLineEndsBlankLinesSpacesAndUnknownKeysAreAccepted()
    {
        var (policy, error) = MtaStsPolicy.Parse("version: STSv1\n\nmode:testing\nmx:   mx.example.org  \nfuture_key: anything: at all\nmax_age: 86400");
        Assert.Null(error);
        Assert.Equal((MtaStsMode.Testing, "mx.example.org", TimeSpan.FromDays(1)), (policy!.Mode, Assert.Single(policy.Mx), policy.MaxAge));
    }

    [Fact]
    public void ModeNoneNeedsNoMx()
    {
        var (policy, error) = MtaStsPolicy.Parse("version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n");
        Assert.Null(error);
        Assert.Equal(MtaStsMode.None, policy!.Mode);
        Assert.Empty(policy.Mx);
    }

    [Fact]
    public void MaxAgeAboveAYearIsCappedAtTheRfcMaximum()
    {
        var (policy, _) = MtaStsPolicy.Parse("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 9999999999\n");
        Assert.Equal(MtaStsPolicy.LongestMaxAge, policy!.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(31_557_600), MtaStsPolicy.LongestMaxAge);
    }

    [Theory]
    [InlineData("mode: enforce\nmx: mx.example.org\nmax_age: 86400", "no version field")]
    [InlineData("version: STSv2\nmode: enforce\nmx: mx.example.org\nmax_age: 86400", "is not STSv1")]
    [InlineData("version: STSv1\nmx: mx.example.org\nmax_age: 86400", "no mode field")]
    [InlineData("version: STSv1\nmode: strict\nmx: mx.example.org\nmax_age: 86400", "is not one of none|testing|enforce")]
    [InlineData("version: STSv1\nmode: enforce\nmx: mx.example.org", "no max_age field")]
    [InlineData("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: -5", "is not a number of seconds")]
    [InlineData("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 12345678901", "is not a number of seconds")]
    [InlineData("version: STSv1\nmode: enforce\nmax_age: 86400", "no mx field")]
    [InlineData("version: STSv1\nmode: enforce\nmx: mx..example.org\nmax_age: 86400", "is not a host name")]
    [InlineData("version: STSv1\nmode: enforce\nmx: *.*.example.org\nmax_age: 86400", "is not a host name")]
    [InlineData("version: STSv1\nmode: enforce\nmx: -mx.example.org\nmax_age: 86400", "is not a host name")]
    [InlineData("<html><body>Not found</body></html>", "not a \"key: value\" line")]
    public void AnInvalidPolicySaysWhy(string text, string reason)
    {
        var (policy, error) = MtaStsPolicy.Parse(text);
        Assert.Null(policy);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void TheFirstOfARepeatedFieldCounts()
    {
        var (policy, _) = MtaStsPolicy.Parse("version: STSv1\nmode: testing\nmode: enforce\nmx: mx.example.org\nmax_age: 60\nmax_age: 86400");
        Assert.Equal((MtaStsMode.Testing, TimeSpan.FromSeconds(60)), (policy!.Mode, policy.MaxAge));
    }

    [Fact]
    public void ToTextIsWhatParseReadsBack()
    {
        var policy = new MtaStsPolicy(MtaStsMode.Enforce, ["mx1.example.org", "*.example.net"], TimeSpan.FromDays(7));
        var text = policy.ToText();
        Assert.Equal("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.example.net\r\nmax_age: 604800\r\n", text);
        var (back, _) = MtaStsPolicy.Parse(text);
        Assert.Equal((policy.Mode, policy.MaxAge), (back!.Mode, back.MaxAge));
        Assert.Equal(policy.Mx, back.Mx);
    }

    [Theory]
    // RFC 8461 §4.1: "*.example.com" matches exactly one more label on the left.
    [InlineData("*.example.com", "mx1.example.com", true)]
    [InlineData("*.example.com", "MX2.Example.COM.", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "mx1.mx.example.com", false)]
    [InlineData("*.example.com", "mx1.example.net", false)]
    [InlineData("*.example.com", "mx1example.com", false)]
    [InlineData("mail.example.com", "mail.example.com", true)]
    [InlineData("mail.example.com", "MAIL.EXAMPLE.COM.", true)]
    [InlineData("mail.example.com.", "mail.example.com", true)]
    [InlineData("mail.example.com", "mail2.example.com", false)]
    [InlineData("mail.example.com", "a.mail.example.com", false)]
    public void MxPatternsMatchAsRfc8461Section4_1Says(string pattern, string host, bool matches) =>
        Assert.Equal(matches, MtaStsPolicy.MxMatches(pattern, host));

    [Fact]
    public void AllowsMxTriesEveryPatternOfTheRfcExample()
    {
        var (policy, _) = MtaStsPolicy.Parse(RfcExample);
        Assert.True(policy!.AllowsMx("mail.example.com"));
        Assert.True(policy.AllowsMx("mx7.example.net"));
        Assert.True(policy.AllowsMx("backupmx.example.com"));
        Assert.False(policy.AllowsMx("example.net"));
        Assert.False(policy.AllowsMx("evil.example.com"));
    }
}
