using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>The dialogue file reader: what a file says is what runs, and a file it cannot run is refused with its line.</summary>
public sealed class SmtpDialogueParserTests
{
    [Fact]
    public void EveryKindOfLineBecomesItsStep()
    {
        var d = SmtpDialogue.Parse("""
            # a comment, then the server
            set listener submission
            set max-errors 3

            S= 220 mx.test ESMTP SecureMx
            S# 1
            C: EHLO client.test
            S: 250
            S+ PIPELINING
            S- AUTH*
            C> NOOP\r\n
            S^ 250 2.0.0
            S~ Ok
            C: STARTTLS
            S: 220 2.0.0
            C! tls
            C! pause 20ms
            C! connect
            S: closed
            """, "example");
        Assert.Equal("example", d.Name);
        Assert.Equal("submission", d.Settings.Listener.Name);
        Assert.Equal(
            [typeof(ReplyStep), typeof(ReplyCheckStep), typeof(SendStep), typeof(ReplyStep), typeof(ReplyCheckStep), typeof(ReplyCheckStep),
             typeof(SendStep), typeof(ReplyStep), typeof(ReplyCheckStep), typeof(SendStep), typeof(ReplyStep), typeof(TlsStep),
             typeof(PauseStep), typeof(ConnectStep), typeof(ClosedStep)],
            d.Steps.Select(s => s.GetType()));
        Assert.Equal(5, d.Steps[0].Line);
        Assert.Equal(new ReplyStep(5, "S= 220 mx.test ESMTP SecureMx", 220, null, "220 mx.test ESMTP SecureMx", Exact: true), d.Steps[0]);
        Assert.Equal("EHLO client.test\r\n"u8.ToArray(), ((SendStep)d.Steps[2]).Bytes);
        Assert.Equal("NOOP\r\n"u8.ToArray(), ((SendStep)d.Steps[6]).Bytes);
        Assert.Equal(new ReplyStep(15, "S: 220 2.0.0", 220, "2.0.0", null, Exact: false), d.Steps[10]);
        Assert.Equal(TimeSpan.FromMilliseconds(20), ((PauseStep)d.Steps[12]).Duration);
        var options = new SecureMx.Config.SecureMxOptions();
        d.Settings.Configure(options);
        Assert.Equal(3, options.Limits.MaxErrors);
        Assert.Equal("0s", options.Auth.FailureDelay);
    }

    [Theory]
    [InlineData("C: NOOP\nset max-errors 3\n", 2, "\"set\" lines come before the first step")]
    [InlineData("set colour blue\nS: 220\n", 1, "unknown setting 'colour'")]
    [InlineData("set max-errors many\nS: 220\n", 1, "needs a positive number")]
    [InlineData("set listener pop3\nS: 220\n", 1, "set listener mx|submission|submissions|secure-mx HOSTNAME")]
    [InlineData("S: 220\nX: 250\n", 2, "a line is a comment")]
    [InlineData("S:220\n", 1, "a line is a comment")]
    [InlineData("S: 2500\n", 1, "S: CODE, S: CODE X.Y.Z or S: closed")]
    [InlineData("S: 250 2.1\n", 1, "S: CODE, S: CODE X.Y.Z or S: closed")]
    [InlineData("S: 250 Ok\n", 1, "S: CODE, S: CODE X.Y.Z or S: closed")]
    [InlineData("S= Ok\n", 1, "S= CODE TEXT")]
    [InlineData("S+ PIPELINING\n", 1, "checks a reply, but none has been read on this connection")]
    [InlineData("S: 220\nC! connect\nS# 1\n", 3, "checks a reply, but none has been read on this connection")]
    [InlineData("S: 220\nS# none\n", 2, "S# N")]
    [InlineData("C! dance\n", 1, "C! tls, C! connect or C! pause Nms")]
    [InlineData("C! pause 10s\n", 1, "C! tls, C! connect or C! pause Nms")]
    [InlineData("C>\n", 1, "C> sends something")]
    [InlineData("C: NOOP \\q\n", 1, "unknown escape \\q")]
    [InlineData("C: NOOP \\x4\n", 1, "\\x needs two hex digits")]
    [InlineData("C: NOOP \\\n", 1, "a lone backslash")]
    [InlineData("C: NOOP \\{repeat 3 x\n", 1, "a \\{ is not closed")]
    [InlineData("C: NOOP \\{repeat x y}\n", 1, "needs a count of 1 or more")]
    [InlineData("C: NOOP \\{rot13 x}\n", 1, "unknown function \\{rot13")]
    public void AFileItCannotRunIsRefusedWithItsLine(string text, int line, string message)
    {
        var e = Assert.Throws<FormatException>(() => SmtpDialogue.Parse(text, "broken"));
        Assert.StartsWith($"broken{SmtpDialogue.Extension}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileWithoutStepsIsRefused()
    {
        var e = Assert.Throws<FormatException>(() => SmtpDialogue.Parse("# nothing\nset max-errors 3\n", "empty"));
        Assert.Contains("no steps", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(@"plain", "plain")]
    [InlineData(@"a\r\nb\tc\0d\\e\}f", "a\r\nb\tc\0d\\e}f")]
    [InlineData(@"\x41\x7a", "Az")]
    [InlineData(@"<\{repeat 3 ab}>", "<ababab>")]
    [InlineData(@"\{repeat 2 \{repeat 2 x}-}", "xx-xx-")]
    [InlineData(@"\{base64 \0alice\0secret}", "AGFsaWNlAHNlY3JldA==")]
    [InlineData(@"\{base64 a\}b}", "YX1i")]
    public void EscapesStandForTheirBytes(string written, string sent)
    {
        Assert.Equal(Encoding.Latin1.GetBytes(sent), SmtpDialogueEscapes.Decode(written));
    }

    [Fact]
    public void TextIsSentAsUtf8AndAnEscapedByteAsItself()
    {
        Assert.Equal([(byte)'j', 0xC3, 0xB6, (byte)'r', 0xC3, (byte)'('], SmtpDialogueEscapes.Decode(@"jör\xC3("));
    }

    [Fact]
    public void EveryDialogueOfTheSuiteIsReadable()
    {
        var names = SmtpDialogue.Names(SmtpDialogue.Folder).ToList();
        Assert.NotEmpty(names);
        foreach (var name in names) Assert.Equal(name, SmtpDialogue.Load(SmtpDialogue.Folder, name).Name);
        Assert.Equal(
            Directory.GetFiles(Repository.PathOf("tests/SecureMx.Tests/Smtp/Dialogues"), "*" + SmtpDialogue.Extension, SearchOption.AllDirectories).Length,
            names.Count);
    }
}
