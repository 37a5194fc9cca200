using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

public sealed class SmtpCommandTests
{
    [Theory]
    [InlineData("EHLO x", SmtpVerb.Ehlo, "x")]
    [InlineData("ehlo x", SmtpVerb.Ehlo, "x")]
    [InlineData("HeLo x", SmtpVerb.Helo, "x")]
    [InlineData("MAIL FROM:<a@b>", SmtpVerb.Mail, "FROM:<a@b>")]
    [InlineData("RCPT TO:<a@b> NOTIFY=NEVER", SmtpVerb.Rcpt, "TO:<a@b> NOTIFY=NEVER")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("BDAT 10 LAST", SmtpVerb.Bdat, "10 LAST")]
    [InlineData("RSET", SmtpVerb.Rset, "")]
    [InlineData("NOOP", SmtpVerb.Noop, "")]
    [InlineData("QUIT", SmtpVerb.Quit, "")]
    [InlineData("VRFY x", SmtpVerb.Vrfy, "x")]
    [InlineData("EXPN x", SmtpVerb.Expn, "x")]
    [InlineData("HELP", SmtpVerb.Help, "")]
    [InlineData("STARTTLS", SmtpVerb.StartTls, "")]
    [InlineData("AUTH PLAIN", SmtpVerb.Auth, "PLAIN")]
    [InlineData("GET / HTTP/1.1", SmtpVerb.Forbidden, "/ HTTP/1.1")]
    [InlineData("POST / HTTP/1.1", SmtpVerb.Forbidden, "/ HTTP/1.1")]
    [InlineData("HEAD / HTTP/1.1", SmtpVerb.Forbidden, "/ HTTP/1.1")]
    [InlineData("PUT /x HTTP/1.1", SmtpVerb.Forbidden, "/x HTTP/1.1")]
    [InlineData("OPTIONS * HTTP/1.1", SmtpVerb.Forbidden, "* HTTP/1.1")]
    [InlineData("CONNECT a:25 HTTP/1.1", SmtpVerb.Forbidden, "a:25 HTTP/1.1")]
    [InlineData("XCLIENT ADDR=1.2.3.4", SmtpVerb.Unknown, "ADDR=1.2.3.4")]
    [InlineData("", SmtpVerb.Unknown, "")]
    [InlineData("MAIL", SmtpVerb.Mail, "")]
    public void ParsesVerbAndArgument(string line, SmtpVerb verb, string argument)
    {
        var cmd = SmtpCommand.Parse(line);
        Assert.Equal(verb, cmd.Verb);
        Assert.Equal(argument, cmd.Argument);
    }

    [Theory]
    [InlineData("mail FROM:<a@b>", SmtpVerb.Mail, "MAIL", "FROM:<a@b>")]
    [InlineData("StartTls", SmtpVerb.StartTls, "STARTTLS", "")]
    [InlineData("XCLIENT ADDR=1.2.3.4", SmtpVerb.Unknown, "XCLIENT", "ADDR=1.2.3.4")]
    [InlineData("get / HTTP/1.1", SmtpVerb.Forbidden, "get", "/ HTTP/1.1")]
    [InlineData("EHLO bücher.example", SmtpVerb.Ehlo, "EHLO", "bücher.example")]
    [InlineData("DATA ", SmtpVerb.Data, "DATA", "")]
    public void ParsesTheVerbFromTheBytesOfTheLine(string line, SmtpVerb verb, string verbText, string argument)
    {
        var cmd = SmtpCommand.Parse(System.Text.Encoding.UTF8.GetBytes(line).AsSpan());
        Assert.Equal(verb, cmd.Verb);
        Assert.Equal(verbText, cmd.VerbText);
        Assert.Equal(argument, cmd.Argument);
    }

    [Theory]
    [InlineData("MAıL FROM:<a@b>")] // dotless i: upper-cases to "MAIL" in .NET, but verbs are ASCII (RFC 5321 §2.4)
    [InlineData("\u017FTARTTLS")]  // long s: upper-cases to "S"
    public void AVerbWithNonAsciiLettersIsUnknown(string line)
    {
        Assert.Equal(SmtpVerb.Unknown, SmtpCommand.Parse(System.Text.RegularExpressions.Regex.Unescape(line)).Verb);
    }
}
