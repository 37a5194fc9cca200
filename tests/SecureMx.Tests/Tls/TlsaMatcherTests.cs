using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.TestKit;
using SecureMx.Tls;

namespace SecureMx.Tests.Tls;

/// <summary>DANE authentication (RFC 7672 §3, RFC 6698 §2.1).</summary>
public sealed class TlsaMatcherTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static TlsaRecordData Record(byte usage, byte selector, byte type, byte[] data) => new(usage, selector, type, data);

    private static (X509Certificate2 Root, X509Certificate2 Intermediate, X509Certificate2 Leaf) Chain(string leafName)
    {
        var chain = TestCertificates.IssuedThroughIntermediate(leafName);
        return (chain.Ca!, chain.Intermediate!, chain.Leaf);
    }

    [Fact]
    public void DaneEeMatchesTheLeafKeyWithoutNameOrDateChecks()
    {
        var leaf = TestCertificates.SelfSigned("some-other-name.example", notAfter: DateTimeOffset.UtcNow.AddDays(-1)).Leaf; // expired, wrong name
        var verdict = TlsaMatcher.Verify([Record(3, 1, 1, SHA256.HashData(TestCertificates.Spki(leaf)))], leaf, [leaf], ["mx.dane-ok.test"], Now);
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
        var leaf = TestCertificates.SelfSigned("mx.example.test").Leaf;
        var selected = selector == 0 ? leaf.RawData : TestCertificates.Spki(leaf);
        var data = type switch { 0 => selected, 1 => SHA256.HashData(selected), _ => SHA512.HashData(selected) };
        Assert.True(TlsaMatcher.Verify([Record(3, selector, type, data)], leaf, [leaf], ["mx.example.test"], Now).Verified);
        data[^1] ^= 1;
        Assert.False(TlsaMatcher.Verify([Record(3, selector, type, data)], leaf, [leaf], ["mx.example.test"], Now).Verified);
    }

    [Fact]
    public void ARecordOfAnotherKeyDoesNotMatch()
    {
        var leaf = TestCertificates.SelfSigned("mx.example.test").Leaf;
        var other = TestCertificates.SelfSigned("mx.example.test").Leaf;
        var verdict = TlsaMatcher.Verify([Record(3, 1, 1, SHA256.HashData(TestCertificates.Spki(other)))], leaf, [leaf], ["mx.example.test"], Now);
        Assert.False(verdict.Verified);
        Assert.Contains("no TLSA record matched", verdict.Detail);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void PkixUsagesAreUnusableForSmtp(byte usage)
    {
        var leaf = TestCertificates.SelfSigned("mx.example.test").Leaf;
        var records = new[] { Record(usage, 1, 1, SHA256.HashData(TestCertificates.Spki(leaf))) };
        Assert.False(TlsaMatcher.IsUsable(records[0]));
        Assert.Equal("no usable TLSA records", TlsaMatcher.Verify(records, leaf, [leaf], ["mx.example.test"], Now).Detail);
    }

    [Fact]
    public void DaneTaAtTheIntermediateVerifiesALeafForTheMxName()
    {
        var (root, intermediate, leaf) = Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestCertificates.Spki(intermediate)));
        var verdict = TlsaMatcher.Verify([ta], leaf, [leaf, intermediate], ["mx.dane-ta.test", "dane-ta.test"], Now);
        Assert.True(verdict.Verified, verdict.Detail);
        Assert.Contains("DANE-TA", verdict.Detail);
        _ = root;
    }

    [Fact]
    public void DaneTaAtTheRootVerifiesWhenTheServerSendsTheWholeChain()
    {
        var (root, intermediate, leaf) = Chain("mx.dane-ta.test");
        var ta = Record(2, 0, 1, SHA256.HashData(root.RawData));
        Assert.True(TlsaMatcher.Verify([ta], leaf, [leaf, intermediate, root], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void DaneTaChecksTheNameAgainstTheMxHostAndTheNextHopDomain()
    {
        var (_, intermediate, leaf) = Chain("mail.elsewhere.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestCertificates.Spki(intermediate)));
        var verdict = TlsaMatcher.Verify([ta], leaf, [leaf, intermediate], ["mx.dane-ta.test", "dane-ta.test"], Now);
        Assert.False(verdict.Verified);
        Assert.Contains("not for mx.dane-ta.test or dane-ta.test", verdict.Detail);
    }

    [Fact]
    public void DaneTaNeedsTheAnchorAmongThePresentedCertificates()
    {
        var (_, intermediate, leaf) = Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestCertificates.Spki(intermediate)));
        Assert.False(TlsaMatcher.Verify([ta], leaf, [leaf], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void DaneTaOfAnUnrelatedCaDoesNotVerify()
    {
        var (_, intermediate, leaf) = Chain("mx.dane-ta.test");
        var (_, otherIntermediate, _) = Chain("mx.dane-ta.test");
        var ta = Record(2, 1, 1, SHA256.HashData(TestCertificates.Spki(otherIntermediate)));
        Assert.False(TlsaMatcher.Verify([ta], leaf, [leaf, intermediate, otherIntermediate], ["mx.dane-ta.test"], Now).Verified);
    }

    [Fact]
    public void TheDaneEeRecordForPublishingIsSha256OfTheSpki()
    {
        var leaf = TestCertificates.SelfSigned("mx.example.test").Leaf;
        Assert.Equal("3 1 1 " + Convert.ToHexStringLower(SHA256.HashData(TestCertificates.Spki(leaf))), TlsaMatcher.DaneEeRecord(leaf));
    }
}
