using SecureMx.Mail;
using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

/// <summary>MAIL/RCPT ESMTP parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461), REQUIRETLS (RFC 8689).</summary>
public sealed class ParameterParserTests
{
    private const long Max = 10_000;

    private static void AssertReply(SmtpReply? reply, int code, string enhanced)
    {
        Assert.NotNull(reply);
        Assert.Equal(code, reply.Code);
        Assert.Equal(enhanced, reply.Enhanced?.ToString());
    }

    [Fact]
    public void EmptyMailParametersGiveDefaults()
    {
        Assert.Null(ParameterParser.ParseMail("", Max, out var p));
        Assert.Equal(new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null), p);
    }

    [Fact]
    public void AllMailParametersTogether()
    {
        Assert.Null(ParameterParser.ParseMail("SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B314", Max, out var p));
        Assert.Equal(1234, p.Size);
        Assert.Equal(BodyType.EightBitMime, p.Body);
        Assert.True(p.SmtpUtf8);
        Assert.Equal(DsnReturn.Headers, p.Ret);
        Assert.Equal("QQ+314", p.EnvId);
    }

    [Theory]
    [InlineData("REQUIRETLS")]
    [InlineData("requiretls")]
    [InlineData("SIZE=10 RequireTls SMTPUTF8")]
    public void RequireTlsIsAKeywordWithoutAValue(string text)
    {
        Assert.Null(ParameterParser.ParseMail(text, Max, out var p));
        Assert.True(p.RequireTls);
    }

    [Theory]
    [InlineData("REQUIRETLS=YES")]
    [InlineData("REQUIRETLS=")]
    public void RequireTlsWithAValueIs501(string text)
    {
        var reply = ParameterParser.ParseMail(text, Max, out var p);
        AssertReply(reply, 501, "5.5.4");
        Assert.Contains("REQUIRETLS takes no value", reply!.Text);
        Assert.False(p.RequireTls);
    }

    [Fact]
    public void KeywordsAndValuesAreCaseInsensitive()
    {
        Assert.Null(ParameterParser.ParseMail("size=10 body=8bitmime smtputf8 ret=full", Max, out var p));
        Assert.Equal(10, p.Size);
        Assert.Equal(BodyType.EightBitMime, p.Body);
        Assert.True(p.SmtpUtf8);
        Assert.Equal(DsnReturn.Full, p.Ret);
    }

    [Fact]
    public void ExtraSpacesBetweenParametersAreTolerated()
    {
        Assert.Null(ParameterParser.ParseMail("SIZE=10   BODY=7BIT", Max, out var p));
        Assert.Equal(10, p.Size);
    }

    [Theory]
    [InlineData("SIZE=0", 0)]
    [InlineData("SIZE=10000", 10_000)]
    public void SizeWithinLimitIsAccepted(string text, long size)
    {
        Assert.Null(ParameterParser.ParseMail(text, Max, out var p));
        Assert.Equal(size, p.Size);
    }

    [Fact]
    public void SizeOverLimitIs552()
    {
        AssertReply(ParameterParser.ParseMail("SIZE=10001", Max, out _), 552, "5.3.4");
    }

    [Fact]
    public void SizeIsNotCheckedWhenThereIsNoLimit()
    {
        Assert.Null(ParameterParser.ParseMail("SIZE=999999999999", 0, out var p));
        Assert.Equal(999_999_999_999, p.Size);
    }

    [Theory]
    [InlineData("SIZE")]
    [InlineData("SIZE=")]
    [InlineData("SIZE=abc")]
    [InlineData("SIZE=-1")]
    [InlineData("SIZE=+5")]
    [InlineData("SIZE=1.5")]
    [InlineData("SIZE=1e3")]
    [InlineData("SIZE=123456789012345678901")]
    public void BadSizeSyntaxIs501(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("BODY=7BIT", BodyType.SevenBit)]
    [InlineData("BODY=8BITMIME", BodyType.EightBitMime)]
    public void AdvertisedBodyValuesAreAccepted(string text, BodyType body)
    {
        Assert.Null(ParameterParser.ParseMail(text, Max, out var p));
        Assert.Equal(body, p.Body);
    }

    [Theory]
    [InlineData("BODY")]
    [InlineData("BODY=")]
    [InlineData("BODY=8BIT")]
    [InlineData("BODY=BINARY")]
    public void UnknownBodyValuesAre501(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Fact]
    public void BinaryMimeIsRefusedBecauseItIsNotAdvertised()
    {
        AssertReply(ParameterParser.ParseMail("BODY=BINARYMIME", Max, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("SMTPUTF8=YES")]
    [InlineData("SMTPUTF8=")]
    public void SmtpUtf8WithValueIsRejected(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("AUTH=<>")]
    [InlineData("AUTH=alice+40example.org")]
    public void AuthParameterOfRelayingClientsIsAccepted(string text)
    {
        Assert.Null(ParameterParser.ParseMail(text, Max, out _));
    }

    [Theory]
    [InlineData("AUTH")]
    [InlineData("AUTH=bad+zz")]
    public void MalformedAuthParameterIs501(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("RET=FULL", DsnReturn.Full)]
    [InlineData("RET=HDRS", DsnReturn.Headers)]
    public void RetValuesAreAccepted(string text, DsnReturn ret)
    {
        Assert.Null(ParameterParser.ParseMail(text, Max, out var p));
        Assert.Equal(ret, p.Ret);
    }

    [Theory]
    [InlineData("RET")]
    [InlineData("RET=")]
    [InlineData("RET=HEADERS")]
    [InlineData("RET=NONE")]
    public void BadRetIs501(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Fact]
    public void EnvIdIsXtextDecoded()
    {
        Assert.Null(ParameterParser.ParseMail("ENVID=abc+2Bdef+3Dx", Max, out var p));
        Assert.Equal("abc+def=x", p.EnvId);
    }

    [Fact]
    public void EnvIdOf100CharactersIsAcceptedAnd101Rejected()
    {
        Assert.Null(ParameterParser.ParseMail("ENVID=" + new string('e', 100), Max, out var p));
        Assert.Equal(100, p.EnvId!.Length);
        AssertReply(ParameterParser.ParseMail("ENVID=" + new string('e', 101), Max, out _), 501, "5.5.4");
    }

    [Fact]
    public void EnvIdLengthIsCountedAfterDecoding()
    {
        // 100 decoded characters, 300 encoded.
        var encoded = string.Concat(Enumerable.Repeat("+41", 100));
        Assert.Null(ParameterParser.ParseMail("ENVID=" + encoded, Max, out var p));
        Assert.Equal(new string('A', 100), p.EnvId);
    }

    [Theory]
    [InlineData("ENVID")]
    [InlineData("ENVID=")]
    [InlineData("ENVID=abc+")]
    [InlineData("ENVID=abc+4")]
    [InlineData("ENVID=abc+4G")]
    [InlineData("ENVID=abc+4a")]
    [InlineData("ENVID=a=b")]
    [InlineData("ENVID=a+0Db")]
    [InlineData("ENVID=a+0Ab")]
    [InlineData("ENVID=a+00b")]
    [InlineData("ENVID=a+7Fb")]
    [InlineData("ENVID=a+FFb")]
    [InlineData("ENVID=jörg")]
    public void BadEnvIdIs501(string text)
    {
        AssertReply(ParameterParser.ParseMail(text, Max, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("FOO=BAR")]
    [InlineData("DELIVERBY=100")]
    [InlineData("REQUIRETLSX")]
    [InlineData("SIZE=1 XTRA")]
    public void UnknownMailKeywordIs555(string text)
    {
        var reply = ParameterParser.ParseMail(text, Max, out _);
        AssertReply(reply, 555, "5.5.4");
    }

    [Theory]
    [InlineData("SIZE=1 SIZE=2")]
    [InlineData("BODY=7BIT body=8BITMIME")]
    [InlineData("SMTPUTF8 SMTPUTF8")]
    [InlineData("RET=FULL RET=HDRS")]
    [InlineData("ENVID=a ENVID=b")]
    [InlineData("REQUIRETLS requiretls")]
    public void DuplicateMailKeywordIs501(string text)
    {
        var reply = ParameterParser.ParseMail(text, Max, out _);
        AssertReply(reply, 501, "5.5.4");
        Assert.Contains("duplicate", reply!.Text, StringComparison.OrdinalIgnoreCase);
    }

    // ---- RCPT ----

    [Fact]
    public void EmptyRcptParametersGiveDefaults()
    {
        Assert.Null(ParameterParser.ParseRcpt("", out var p));
        Assert.Equal(new RcptParameters(DsnNotify.Unspecified, null, null), p);
    }

    [Theory]
    [InlineData("NOTIFY=NEVER", DsnNotify.Never)]
    [InlineData("NOTIFY=SUCCESS", DsnNotify.Success)]
    [InlineData("NOTIFY=FAILURE", DsnNotify.Failure)]
    [InlineData("NOTIFY=DELAY", DsnNotify.Delay)]
    [InlineData("NOTIFY=SUCCESS,FAILURE", DsnNotify.Success | DsnNotify.Failure)]
    [InlineData("NOTIFY=delay,failure,success", DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay)]
    public void NotifyCombinationsAreAccepted(string text, DsnNotify notify)
    {
        Assert.Null(ParameterParser.ParseRcpt(text, out var p));
        Assert.Equal(notify, p.Notify);
    }

    [Theory]
    [InlineData("NOTIFY")]
    [InlineData("NOTIFY=")]
    [InlineData("NOTIFY=NEVER,SUCCESS")]
    [InlineData("NOTIFY=FAILURE,NEVER")]
    [InlineData("NOTIFY=NEVER,NEVER")]
    [InlineData("NOTIFY=SUCCESS,SUCCESS")]
    [InlineData("NOTIFY=SUCCESS,,FAILURE")]
    [InlineData("NOTIFY=SUCCESS,")]
    [InlineData("NOTIFY=ALWAYS")]
    [InlineData("NOTIFY=SUCCESS;FAILURE")]
    public void BadNotifyIs501(string text)
    {
        AssertReply(ParameterParser.ParseRcpt(text, out _), 501, "5.5.4");
    }

    [Fact]
    public void OrcptIsSplitAndXtextDecoded()
    {
        Assert.Null(ParameterParser.ParseRcpt("ORCPT=rfc822;bob+2Btag@example.org NOTIFY=FAILURE", out var p));
        Assert.Equal("rfc822", p.OrcptType);
        Assert.Equal("bob+tag@example.org", p.Orcpt);
        Assert.Equal(DsnNotify.Failure, p.Notify);
    }

    [Theory]
    [InlineData("ORCPT")]
    [InlineData("ORCPT=")]
    [InlineData("ORCPT=rfc822")]
    [InlineData("ORCPT=;bob@example.org")]
    [InlineData("ORCPT=rfc822;")]
    [InlineData("ORCPT=rfc822;bob+4")]
    [InlineData("ORCPT=rfc822;bob+zz")]
    [InlineData("ORCPT=rfc822;a=b")]
    [InlineData("ORCPT=rf.c;bob@example.org")]
    [InlineData("ORCPT=rfc@822;bob@example.org")]
    public void BadOrcptIs501(string text)
    {
        AssertReply(ParameterParser.ParseRcpt(text, out _), 501, "5.5.4");
    }

    [Theory]
    [InlineData("ORCPT=rfc822;bob+0D+0ABcc:+20evil@example.org")]
    [InlineData("ORCPT=rfc822;bob+00@example.org")]
    [InlineData("ORCPT=rfc822;bob+7F@example.org")]
    public void OrcptThatDecodesToControlCharactersIsRejected(string text)
    {
        // RFC 3461 §4.2: the decoded original recipient must be printable US-ASCII; a CR/LF would be
        // copied into the "Original-Recipient:" field of a DSN (header injection).
        AssertReply(ParameterParser.ParseRcpt(text, out _), 501, "5.5.4");
    }

    [Fact]
    public void OrcptOver500CharactersIsRejected()
    {
        AssertReply(ParameterParser.ParseRcpt("ORCPT=rfc822;" + new string('a', 501), out _), 501, "5.5.4");
        Assert.Null(ParameterParser.ParseRcpt("ORCPT=rfc822;" + new string('a', 500), out _));
    }

    [Theory]
    [InlineData("FOO")]
    [InlineData("SIZE=10")]
    [InlineData("NOTIFY=NEVER XYZ=1")]
    public void UnknownRcptKeywordIs555(string text)
    {
        AssertReply(ParameterParser.ParseRcpt(text, out _), 555, "5.5.4");
    }

    [Theory]
    [InlineData("NOTIFY=NEVER NOTIFY=NEVER")]
    [InlineData("NOTIFY=SUCCESS notify=FAILURE")]
    [InlineData("ORCPT=rfc822;a@b ORCPT=rfc822;c@d")]
    public void DuplicateRcptKeywordIs501(string text)
    {
        AssertReply(ParameterParser.ParseRcpt(text, out _), 501, "5.5.4");
    }
}
