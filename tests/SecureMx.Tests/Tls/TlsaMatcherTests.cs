using System.Security.Cryptography;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Tls;

/// <summary>DANE authentication (RFC 7672 §3, RFC 6698 §2.1).</summary>
public sealed class TlsaMatcherTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static TlsaRecordData Record(byte usage, byte selector, byte type, byte[] data) => new(usage, selector, type, data);

    [Fact]
    public void DaneEeMatchesTheLeafKeyWithoutNameOrDateChecks()
    {
        var leaf = TestPki.SelfSigned("some-other-name.example", notAfter: DateTimeOffset.UtcNow.AddDays(-1)); // expired, wrong name
        var verdict = TlsaMatcher.Verify([Record(3, 1, 1, SHA256.HashData(TestPki.Spki(leaf)))], leaf, [leaf], ["mx.dane-ok.test"], Now);
        Assert.True(verdict.Verified, verdict.Detail);
        Assert.Contains("DANE-EE", verdict.Detail);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(0, 2)]
    [InlineData(1, 0)]
    [InlineData(1, 2)]
    public void EverySelectorAndMatchingTypeIsUnderstood(byte selector, byte type)
    {
        var leaf = TestPki.SelfSigned("mx.example.test");
        var selected = selector == 0 ? leaf.RawData : TestPki.Spki(leaf);
        var data = type switch { 0 => selected, 1 => SHA256.HashData(selected), _ => SHA512.HashData(selected) };
        Assert.True(TlsaMatcher.Verify([Record(3, selector, type, data)], leaf, [leaf], ["mx.example.test"], Now).Verified);
        data[^1] ^= 1;
        Assert.False(TlsaMatcher.Verify([Record(3, selector, type, data)], leaf, [leaf], ["mx.example.test"], Now).Verified);
    }

    [Fact]
    public void ARecordOfAnotherKeyDoesNotMatch()
    {
        var leaf = TestPki.SelfSigned("mx.example.test");
        var other = TestPki.SelfSigned("mx.example.test");
        var verdict = TlsaMatcher.Verify([Record(3, 1, 1, SHA256.HashData(TestPki.Spki(other)))], leaf, [leaf], ["mx.example.test"], Now);
        Assert.False(verdict.Verified);
        Assert.Contains("no TLSA record matched", verdict.Detail);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void PkixUsagesAreUnusableForSmtp(byte usage)
    {
        var leaf = TestPki.SelfSigned("mx.example.test");
        var records = new[] { Record(usage, 1, 1, SHA256.HashData(TestPki.Spki(leaf))) };
        Assert.False(TlsaMatcher.IsUsable(records[0]));
        Assert.Equal("no usable TLSA records", TlsaMatcher.Verify(records, leaf, [leaf], ["mx.example.test"], Now).Detail);
    }

    [Fact]
    public void DaneTaAtTheIntermediateVerifiesALeafForTheMxName()
    {
        var (root, intermediate, leaf) = TestPki.Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestPki.Spki(intermediate)));
        var verdict = TlsaMatcher.Verify([ta], leaf, [leaf, intermediate], ["mx.dane-ta.test", "dane-ta.test"], Now);
        Assert.True(verdict.Verified, verdict.Detail);
        Assert.Contains("DANE-TA", verdict.Detail);
        _ = root;
    }

    [Fact]
    public void DaneTaAtTheRootVerifiesWhenTheServerSendsTheWholeChain()
    {
        var (root, intermediate, leaf) = TestPki.Chain("mx.dane-ta.test");
        var ta = Record(2, 0, 1, SHA256.HashData(root.RawData));
        Assert.True(TlsaMatcher.Verify([ta], leaf, [leaf, intermediate, root], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void DaneTaChecksTheNameAgainstTheMxHostAndTheNextHopDomain()
    {
        var (_, intermediate, leaf) = TestPki.Chain("mail.elsewhere.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestPki.Spki(intermediate)));
        var verdict = TlsaMatcher.Verify([ta], leaf, [leaf, intermediate], ["mx.dane-ta.test", "dane-ta.test"], Now);
        Assert.False(verdict.Verified);
        Assert.Contains("not for mx.dane-ta.test or dane-ta.test", verdict.Detail);
    }

    [Fact]
    public void DaneTaNeedsTheAnchorAmongThePresentedCertificates()
    {
        var (_, intermediate, leaf) = TestPki.Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestPki.Spki(intermediate)));
        Assert.False(TlsaMatcher.Verify([ta], leaf, [leaf], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void DaneTaOfAnUnrelatedCaDoesNotVerify()
    {
        var (_, intermediate, leaf) = TestPki.Chain("mx.dane-ta.test");
        var (_, otherIntermediate, _) = TestPki.Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestPki.Spki(otherIntermediate)));
        Assert.False(TlsaMatcher.Verify([ta], leaf, [leaf, intermediate, otherIntermediate], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void TheDaneEeRecordForPublishingIsSha256OfTheSpki()
    {
        var leaf = TestPki.SelfSigned("mx.example.test");
        Assert.Equal("3 1 1 " + Convert.ToHexStringLower(SHA256.HashData(TestPki.Spki(leaf))), TlsaMatcher.DaneEeRecord(leaf));
    }
}
