using SecureMx.Mail;
using static SecureMx.Mail.SmtpAddressParser;

namespace SecureMx.Tests.Mail;

/// <summary>Reverse-path / forward-path syntax (RFC 5321 §4.1.2, RFC 6531 §3.3).</summary>
public sealed class SmtpAddressParserTests
{
    private static (Error Error, EnvelopeAddress Address, string Remainder) Parse(string text, bool allowNull = false, bool allowUtf8 = false)
    {
        var e = TryParsePath(text, allowNull, allowUtf8, out var a, out var rest);
        return (e, a, rest);
    }

    [Theory]
    [InlineData("<alice@example.org>", "alice", "example.org")]
    [InlineData("<Alice.Smith@Example.ORG>", "Alice.Smith", "example.org")]
    [InlineData("<a!#$%&'*+-/=?^_`{|}~@example.org>", "a!#$%&'*+-/=?^_`{|}~", "example.org")]
    [InlineData("<x@a-b.c-d.example>", "x", "a-b.c-d.example")]
    [InlineData("<x@123.example>", "x", "123.example")]
    [InlineData("<x@localhost>", "x", "localhost")]
    public void ValidPathsParse(string text, string local, string domain)
    {
        var (e, a, rest) = Parse(text);
        Assert.Equal(Error.None, e);
        Assert.Equal(local, a.LocalPart);
        Assert.Equal(domain, a.Domain);
        Assert.False(a.IsAddressLiteral);
        Assert.Equal("", rest);
    }

    [Fact]
    public void RestAfterClosingBracketIsReturned()
    {
        var (e, _, rest) = Parse("<a@example.org> SIZE=10 BODY=8BITMIME");
        Assert.Equal(Error.None, e);
        Assert.Equal(" SIZE=10 BODY=8BITMIME", rest);
    }

    [Fact]
    public void NullPathIsAcceptedOnlyWhenAllowed()
    {
        var (e, a, _) = Parse("<>", allowNull: true);
        Assert.Equal(Error.None, e);
        Assert.True(a.IsNull);
        Assert.Equal("", a.ToString());
        Assert.Equal(Error.Syntax, Parse("<>", allowNull: false).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("alice@example.org")]
    [InlineData("<alice@example.org")]
    [InlineData("<<alice@example.org>>")]
    [InlineData("<alice>")]
    [InlineData("<@example.org>")]
    [InlineData("<alice@>")]
    [InlineData("<alice@@example.org>")]
    [InlineData("<a@b@c>")]
    [InlineData("<a@b@example.org>")]
    [InlineData("<.alice@example.org>")]
    [InlineData("<alice.@example.org>")]
    [InlineData("<al..ice@example.org>")]
    [InlineData("<al ice@example.org>")]
    [InlineData("<alice@example.org.>")]
    [InlineData("<alice@example..org>")]
    [InlineData("<alice@.example.org>")]
    [InlineData("<alice@-example.org>")]
    [InlineData("<alice@example-.org>")]
    [InlineData("<alice@exa_mple.org>")]
    [InlineData("<alice@exa mple.org>")]
    [InlineData("<al(ice)@example.org>")]
    [InlineData("<al,ice@example.org>")]
    [InlineData("<al\"ice@example.org>")]
    [InlineData("<alice@example.org\r>")]
    [InlineData("<\"\"@example.org>")]
    [InlineData("<\"unterminated@example.org>")]
    [InlineData("<\"a\"b@example.org>")]
    [InlineData("<\"a\"@>")]
    public void InvalidPathsAreSyntaxErrors(string text)
    {
        Assert.Equal(Error.Syntax, Parse(text).Error);
    }

    [Fact]
    public void TrailingDotDomainIsRejected()
    {
        Assert.Equal(Error.Syntax, Parse("<postmaster@example.org.>").Error);
    }

    [Fact]
    public void TooLongLabelIsRejected()
    {
        Assert.Equal(Error.Syntax, Parse("<a@" + new string('x', 64) + ".org>").Error);
        Assert.Equal(Error.None, Parse("<a@" + new string('x', 63) + ".org>").Error);
    }

    [Fact]
    public void SourceRouteIsDropped()
    {
        var (e, a, _) = Parse("<@relay1.example,@relay2.example:bob@example.org>");
        Assert.Equal(Error.None, e);
        Assert.Equal("bob", a.LocalPart);
        Assert.Equal("example.org", a.Domain);
    }

    [Fact]
    public void SingleHopSourceRouteIsDropped()
    {
        var (e, a, _) = Parse("<@other.org:bob@example.org>");
        Assert.Equal(Error.None, e);
        Assert.Equal("bob@example.org", a.ToString());
    }

    [Theory]
    [InlineData("<@:bob@example.org>")]
    [InlineData("<@relay1.example,relay2.example:bob@example.org>")]
    [InlineData("<@relay1.example bob@example.org>")]
    [InlineData("<@relay..example:bob@example.org>")]
    [InlineData("<@relay1.example,:bob@example.org>")]
    public void MalformedSourceRouteIsRejected(string text)
    {
        Assert.Equal(Error.Syntax, Parse(text).Error);
    }

    [Fact]
    public void QuotedLocalPartIsUnquoted()
    {
        var (e, a, _) = Parse("<\"john doe\"@example.org>");
        Assert.Equal(Error.None, e);
        Assert.Equal("john doe", a.LocalPart);
        Assert.True(a.LocalPartNeedsQuotes);
        Assert.Equal("\"john doe\"@example.org", a.ToString());
    }

    [Fact]
    public void QuotedLocalPartWithEscapedQuoteAndBackslash()
    {
        var (e, a, _) = Parse("<\"a\\\"b\\\\c\"@example.org>");
        Assert.Equal(Error.None, e);
        Assert.Equal("a\"b\\c", a.LocalPart);
        Assert.Equal("\"a\\\"b\\\\c\"@example.org", a.ToString());
    }

    [Fact]
    public void QuotedLocalPartMayContainAtSignAndClosingBracket()
    {
        var (e, a, rest) = Parse("<\"user@other.org>\"@example.org> X");
        Assert.Equal(Error.None, e);
        Assert.Equal("user@other.org>", a.LocalPart);
        Assert.Equal("example.org", a.Domain);
        Assert.Equal(" X", rest);
    }

    [Fact]
    public void QuotedDotStringNeedsNoQuotesWhenWrittenBack()
    {
        var (e, a, _) = Parse("<\"alice\"@example.org>");
        Assert.Equal(Error.None, e);
        Assert.Equal("alice", a.LocalPart);
        Assert.Equal("alice@example.org", a.ToString());
    }

    [Theory]
    [InlineData("\"a\rb\"")]
    [InlineData("\"a\nb\"")]
    [InlineData("\"a\0b\"")]
    [InlineData("\"a\tb\"")]
    [InlineData("\"a\u007Fb\"")]
    [InlineData("\"a\\\rb\"")]
    [InlineData("\"a\\\nb\"")]
    [InlineData("\"a\\\0b\"")]
    [InlineData("\"a\\\"")]
    public void ControlCharactersInQuotedLocalPartAreRejected(string local)
    {
        Assert.Equal(Error.Syntax, Parse("<" + local + "@example.org>").Error);
    }

    [Theory]
    [InlineData("<user@[127.0.0.1]>", "[127.0.0.1]")]
    [InlineData("<user@[192.0.2.255]>", "[192.0.2.255]")]
    [InlineData("<user@[IPv6:::1]>", "[ipv6:::1]")]
    [InlineData("<user@[IPv6:2001:db8::1]>", "[ipv6:2001:db8::1]")]
    public void IpLiteralsParseAsAddressLiterals(string text, string domain)
    {
        var (e, a, _) = Parse(text);
        Assert.Equal(Error.None, e);
        Assert.True(a.IsAddressLiteral);
        Assert.Equal(domain, a.Domain);
    }

    [Theory]
    [InlineData("<user@[256.0.0.1]>")]
    [InlineData("<user@[1.2.3]>")]
    [InlineData("<user@[1.2.3.4.5]>")]
    [InlineData("<user@[1.2.3.x]>")]
    [InlineData("<user@[]>")]
    [InlineData("<user@[127.0.0.1>")]
    [InlineData("<user@[IPv6:1.2.3.4]>")]
    [InlineData("<user@[IPv6:gggg::1]>")]
    [InlineData("<user@[::1]>")]
    [InlineData("<user@[example.org]>")]
    public void MalformedAddressLiteralsAreRejected(string text)
    {
        Assert.Equal(Error.Syntax, Parse(text).Error);
    }

    [Fact]
    public void Utf8LocalPartNeedsSmtpUtf8()
    {
        Assert.Equal(Error.NonAscii, Parse("<jörg@example.org>").Error);
        var (e, a, _) = Parse("<jörg@example.org>", allowUtf8: true);
        Assert.Equal(Error.None, e);
        Assert.Equal("jörg", a.LocalPart);
        Assert.False(a.IsAscii);
    }

    [Fact]
    public void Utf8QuotedLocalPartNeedsSmtpUtf8()
    {
        Assert.Equal(Error.NonAscii, Parse("<\"jö rg\"@example.org>").Error);
        Assert.Equal(Error.None, Parse("<\"jö rg\"@example.org>", allowUtf8: true).Error);
    }

    [Fact]
    public void Utf8DomainNeedsSmtpUtf8AndIsNormalisedToLowerCaseALabel()
    {
        Assert.Equal(Error.NonAscii, Parse("<info@Bücher.Example>").Error);
        var (e, a, _) = Parse("<info@Bücher.Example>", allowUtf8: true);
        Assert.Equal(Error.None, e);
        Assert.Equal("xn--bcher-kva.example", a.Domain);
        Assert.True(a.IsAscii);
    }

    [Fact]
    public void UpperCaseALabelIsLowerCased()
    {
        var (e, a, _) = Parse("<info@XN--BCHER-KVA.EXAMPLE>");
        Assert.Equal(Error.None, e);
        Assert.Equal("xn--bcher-kva.example", a.Domain);
    }

    [Fact]
    public void Utf8ControlOrSpaceCharactersAreRejectedEvenWithSmtpUtf8()
    {
        Assert.Equal(Error.Syntax, Parse("<a\u0085b@example.org>", allowUtf8: true).Error);
        Assert.Equal(Error.Syntax, Parse("<a\u00A0b@example.org>", allowUtf8: true).Error);
        Assert.Equal(Error.Syntax, Parse("<ab@exa\u00A0mple.org>", allowUtf8: true).Error);
    }

    [Fact]
    public void LocalPartOf64OctetsIsAcceptedAnd65IsTooLong()
    {
        Assert.Equal(Error.None, Parse("<" + new string('a', 64) + "@example.org>").Error);
        Assert.Equal(Error.TooLong, Parse("<" + new string('a', 65) + "@example.org>").Error);
    }

    [Fact]
    public void LocalPartLimitCountsUtf8Octets()
    {
        // 32 × "ö" = 64 octets; 33 × = 66 octets.
        Assert.Equal(Error.None, Parse("<" + new string('ö', 32) + "@example.org>", allowUtf8: true).Error);
        Assert.Equal(Error.TooLong, Parse("<" + new string('ö', 33) + "@example.org>", allowUtf8: true).Error);
    }

    [Fact]
    public void QuotedLocalPartLimitCountsUnquotedOctets()
    {
        Assert.Equal(Error.TooLong, Parse("<\"" + new string(' ', 65) + "\"@example.org>").Error);
    }

    private static string LongDomain(int octets)
    {
        // labels of 63 separated by dots, exact total length
        var labels = new List<string>();
        int left = octets;
        while (left > 0)
        {
            int n = Math.Min(63, left);
            if (left - n == 1) n--; // never leave a single dot-only remainder
            labels.Add(new string('d', n));
            left -= n + 1;
        }
        var d = string.Join(".", labels);
        Assert.Equal(octets, d.Length);
        return d;
    }

    [Fact]
    public void PathOfMoreThan256OctetsIsTooLong()
    {
        var path = "<" + new string('a', 60) + "@" + LongDomain(250) + ">";
        Assert.Equal(Error.TooLong, Parse(path).Error);
    }

    [Fact]
    public void PathOfExactly256OctetsIncludingBracketsIsAccepted()
    {
        var path = "<" + new string('a', 60) + "@" + LongDomain(256 - 2 - 61) + ">";
        Assert.Equal(256, path.Length);
        Assert.Equal(Error.None, Parse(path).Error);
    }

    [Fact]
    public void PathOf257OctetsIncludingBracketsIsTooLong()
    {
        var path = "<" + new string('a', 60) + "@" + LongDomain(257 - 2 - 61) + ">";
        Assert.Equal(257, path.Length);
        Assert.Equal(Error.TooLong, Parse(path).Error);
    }

    [Fact]
    public void TryParseMailboxParsesBareMailbox()
    {
        Assert.Equal(Error.None, TryParseMailbox("Bob@Example.org", false, out var a));
        Assert.Equal("Bob", a.LocalPart);
        Assert.Equal("example.org", a.Domain);
        Assert.Equal("bob@example.org", a.LookupKey);
    }

    [Fact]
    public void PercentHackAndBangPathStayInTheLocalPart()
    {
        var (e1, a1, _) = Parse("<user%other.org@example.org>");
        Assert.Equal(Error.None, e1);
        Assert.Equal("user%other.org", a1.LocalPart);
        Assert.Equal("example.org", a1.Domain);

        var (e2, a2, _) = Parse("<other.org!user@example.org>");
        Assert.Equal(Error.None, e2);
        Assert.Equal("other.org!user", a2.LocalPart);
        Assert.Equal("example.org", a2.Domain);
    }

    [Fact]
    public void NormalizeDomainRejectsGarbage()
    {
        Assert.Null(EnvelopeAddress.NormalizeDomain(""));
        Assert.Null(EnvelopeAddress.NormalizeDomain("a..b"));
        Assert.Null(EnvelopeAddress.NormalizeDomain(new string('a', 254)));
        Assert.Equal("example.org", EnvelopeAddress.NormalizeDomain("EXAMPLE.org"));
    }
}
