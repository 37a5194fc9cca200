using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;

namespace SecureMx.Tests.MailAuth.Dmarc;

public sealed class DmarcEvaluatorTests
{
    private static readonly PublicSuffixList Suffixes = PublicSuffixList.Parse(["com", "example", "co.uk", "uk"]);

    private static InMemoryDns Zone() => new InMemoryDns()
        .Txt("_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s")
        .Txt("_dmarc.relaxed.example", "v=DMARC1; p=quarantine; sp=reject")
        .Txt("_dmarc.none.example", "v=DMARC1; p=none")
        .Txt("_dmarc.sampled.example", "v=DMARC1; p=reject; pct=50")
        .Txt("_dmarc.broken.example", "v=DMARC1; p=maybe")
        .Timeout("_dmarc.slow.example");

    private static Task<DmarcVerdict> Evaluate(string from, SpfResult spf, string? spfDomain, params DkimSignatureResult[] dkim) =>
        new DmarcEvaluator(Zone(), Suffixes).EvaluateAsync([[from]], spf, spfDomain, dkim, TestContext.Current.CancellationToken);

    [Fact]
    public async Task AnAlignedDkimPassIsAPass()
    {
        var v = await Evaluate("relaxed.example", SpfResult.Fail, "other.example", new DkimSignatureResult(DkimResult.Pass, "mail.relaxed.example", "s"));
        Assert.Equal(DmarcResult.Pass, v.Result);
    }

    [Fact]
    public async Task AnAlignedSpfPassIsAPass()
    {
        Assert.Equal(DmarcResult.Pass, (await Evaluate("relaxed.example", SpfResult.Pass, "bounces.relaxed.example")).Result);
    }

    [Fact]
    public async Task StrictAlignmentWantsTheSameName()
    {
        var v = await Evaluate("strict.example", SpfResult.Pass, "bounces.strict.example", new DkimSignatureResult(DkimResult.Pass, "mail.strict.example", "s"));
        Assert.Equal((DmarcResult.Fail, DmarcPolicy.Reject, DmarcPolicy.Reject), (v.Result, v.Policy, v.Disposition));
    }

    [Fact]
    public async Task APassFromAnotherDomainIsNotAligned()
    {
        var v = await Evaluate("relaxed.example", SpfResult.Pass, "mailer.example", new DkimSignatureResult(DkimResult.Pass, "mailer.example", "s"));
        Assert.Equal((DmarcResult.Fail, DmarcPolicy.Quarantine), (v.Result, v.Disposition));
    }

    [Fact]
    public async Task ASubdomainFallsBackToTheOrganizationalDomainAndItsSubdomainPolicy()
    {
        var v = await Evaluate("news.relaxed.example", SpfResult.SoftFail, "news.relaxed.example");
        Assert.Equal((DmarcResult.Fail, "news.relaxed.example", DmarcPolicy.Reject), (v.Result, v.FromDomain, v.Policy));
    }

    [Fact]
    public async Task ADkimFailDoesNotCount()
    {
        var v = await Evaluate("relaxed.example", SpfResult.None, null, new DkimSignatureResult(DkimResult.Fail, "relaxed.example", "s"));
        Assert.Equal(DmarcResult.Fail, v.Result);
    }

    [Fact]
    public async Task PctBelowAHundredLowersTheDispositionOneStep()
    {
        var v = await Evaluate("sampled.example", SpfResult.Fail, "sampled.example");
        Assert.Equal((DmarcPolicy.Reject, DmarcPolicy.Quarantine), (v.Policy, v.Disposition));
    }

    [Theory]
    [InlineData("nodmarc.example", DmarcResult.None)]
    [InlineData("broken.example", DmarcResult.None)]
    [InlineData("slow.example", DmarcResult.TempError)]
    public async Task NoUsableRecordOrNoAnswer(string from, DmarcResult expected)
    {
        Assert.Equal(expected, (await Evaluate(from, SpfResult.Fail, from)).Result);
    }

    [Fact]
    public async Task NoFromOrSeveralFromFieldsOrDomainsArePermerror()
    {
        var e = new DmarcEvaluator(Zone(), Suffixes);
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(DmarcResult.PermError, (await e.EvaluateAsync([], SpfResult.Pass, "a.example", [], ct)).Result);
        Assert.Equal(DmarcResult.PermError, (await e.EvaluateAsync([["a.example"], ["b.example"]], SpfResult.Pass, "a.example", [], ct)).Result);
        Assert.Equal(DmarcResult.PermError, (await e.EvaluateAsync([["a.example", "b.example"]], SpfResult.Pass, "a.example", [], ct)).Result);
        Assert.Equal(DmarcResult.PermError, (await e.EvaluateAsync([[]], SpfResult.Pass, "a.example", [], ct)).Result);
    }
}
