using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>xtext (RFC 3461 §4): "+" followed by two upper-case hex digits, other chars "!".."~" except "+" and "=".</summary>
public sealed class XtextTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("abc", "abc")]
    [InlineData("a+2Bb", "a+b")]
    [InlineData("+3D", "=")]
    [InlineData("+20+41", " A")]
    [InlineData("!~", "!~")]
    public void DecodesValidXtext(string xtext, string expected)
    {
        Assert.Equal(expected, Xtext.Decode(xtext));
    }

    [Theory]
    [InlineData("+")]
    [InlineData("a+")]
    [InlineData("a+4")]
    [InlineData("+4g")]
    [InlineData("+2b")]
    [InlineData("+GG")]
    [InlineData("a b")]
    [InlineData("a=b")]
    [InlineData("a\tb")]
    [InlineData("\u007F")]
    [InlineData("é")]
    public void RejectsMalformedXtext(string xtext)
    {
        Assert.Null(Xtext.Decode(xtext));
    }

    [Fact]
    public void EncodesSpecialCharacters()
    {
        Assert.Equal("a+2Bb+3Dc+20d", Xtext.Encode("a+b=c d"));
        Assert.Equal("+0D+0A", Xtext.Encode("\r\n"));
    }

    [Theory]
    [InlineData("bob@example.org")]
    [InlineData("a+b=c d!~")]
    [InlineData("\"quoted local\"@example.org")]
    public void AsciiRoundTrips(string text)
    {
        var encoded = Xtext.Encode(text);
        Assert.All(encoded, c => Assert.InRange(c, '!', '~'));
        Assert.Equal(text, Xtext.Decode(encoded));
    }

    [Fact]
    public void NonAsciiRoundTripsOrIsRejected()
    {
        // Either fix is fine: decode the +XX octets as UTF-8, or refuse octets above 0x7F (DSN fields are ASCII).
        var decoded = Xtext.Decode(Xtext.Encode("jörg@example.org"));
        Assert.True(decoded is null or "jörg@example.org", $"decoded to '{decoded}'");
    }
}
