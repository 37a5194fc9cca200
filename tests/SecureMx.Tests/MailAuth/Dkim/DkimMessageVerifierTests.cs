using MimeKit;
using SecureMx.MailAuth.Dkim;

namespace SecureMx.Tests.MailAuth.Dkim;

public sealed class DkimMessageVerifierTests
{
    private static InMemoryDns Zone() => new InMemoryDns()
        .Txt("rsa1._domainkey.sender.example", DkimTestSigner.RsaRecord)
        .Txt("ed1._domainkey.sender.example", DkimTestSigner.Ed25519Record)
        .Txt("gone._domainkey.sender.example", "v=DKIM1; k=rsa; p=")
        .Timeout("slow._domainkey.sender.example");

    private static async Task<DkimSignatureResult> VerifySingle(MimeMessage message, InMemoryDns? dns = null)
    {
        var results = await new DkimMessageVerifier(dns ?? Zone()).VerifyAsync(message, TestContext.Current.CancellationToken);
        return Assert.Single(results);
    }

    [Theory]
    [InlineData("rsa1", false)]
    [InlineData("ed1", true)]
    public async Task ASignatureByTheDomainsKeyPasses(string selector, bool ed25519)
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", selector, ed25519);
        var r = await VerifySingle(DkimTestSigner.Reparse(message));
        Assert.Equal((DkimResult.Pass, "sender.example", selector), (r.Result, r.Domain, r.Selector));
    }

    [Fact]
    public async Task AChangedBodyFails()
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", "rsa1");
        var r = await VerifySingle(DkimTestSigner.Reparse(message, t => t.Replace("this is a test", "this is a fake", StringComparison.Ordinal)));
        Assert.Equal(DkimResult.Fail, r.Result);
    }

    [Fact]
    public async Task AChangedSignedHeaderFails()
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", "ed1", ed25519: true);
        var r = await VerifySingle(DkimTestSigner.Reparse(message, t => t.Replace("Subject: test", "Subject: pay now", StringComparison.Ordinal)));
        Assert.Equal(DkimResult.Fail, r.Result);
    }

    [Theory]
    [InlineData("nokey", DkimResult.PermError)]
    [InlineData("gone", DkimResult.PermError)]
    [InlineData("slow", DkimResult.TempError)]
    public async Task AKeyThatCannotBeHadIsAnError(string selector, DkimResult expected)
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", selector);
        var r = await VerifySingle(DkimTestSigner.Reparse(message));
        Assert.Equal(expected, r.Result);
        Assert.NotNull(r.Problem);
    }

    [Fact]
    public async Task AMalformedSignatureIsNeutral()
    {
        var message = DkimTestSigner.Reparse(DkimTestSigner.Message());
        message.Headers.Insert(0, new Header(HeaderId.DkimSignature, "v=1; a=rsa-sha256; d=sender.example; s=rsa1; h=subject; bh=; b=AAAA"));
        var r = await VerifySingle(message);
        Assert.Equal(DkimResult.Neutral, r.Result);
    }

    [Fact]
    public async Task AHundredSignaturesCostNoMoreThanFiveKeyLookups()
    {
        var message = DkimTestSigner.Message();
        for (int i = 0; i < 100; i++) DkimTestSigner.Sign(message, "sender.example", "s" + i);
        var dns = Zone();
        var results = await new DkimMessageVerifier(dns).VerifyAsync(DkimTestSigner.Reparse(message), TestContext.Current.CancellationToken);
        Assert.Equal(DkimMessageVerifier.MaxSignatures, results.Count);
        Assert.True(dns.Queries <= DkimMessageVerifier.MaxSignatures, $"{dns.Queries} queries");
        Assert.All(results, r => Assert.Equal(DkimResult.PermError, r.Result));
    }

    [Fact]
    public async Task AnUnsignedMessageHasNoResults()
    {
        Assert.Empty(await new DkimMessageVerifier(Zone()).VerifyAsync(DkimTestSigner.Reparse(DkimTestSigner.Message()), TestContext.Current.CancellationToken));
    }
}
