using System.Text;
using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

/// <summary>Reply formatting (RFC 5321 §4.2.1, RFC 2034 §3).</summary>
public sealed class SmtpReplyTests
{
    private sealed class Collector : IBufferWriterAdapter
    {
        public StringBuilder Text { get; } = new();
        public void WriteAscii(string text) => Text.Append(text);
    }

    private static string Render(SmtpReply reply)
    {
        var c = new Collector();
        reply.WriteTo(c);
        return c.Text.ToString();
    }

    [Fact]
    public void SingleLineReplyCarriesTheEnhancedCode()
    {
        Assert.Equal("250 2.1.5 Recipient OK\r\n", Render(SmtpReply.RecipientOk));
    }

    [Fact]
    public void MultiLineReplyUsesDashesAndRepeatsTheEnhancedCodeOnEveryLine()
    {
        var reply = new SmtpReply(550, "5.7.1", ["first", "second", "third"]);
        Assert.Equal("550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", Render(reply));
    }

    [Fact]
    public void ReplyWithoutEnhancedCodeHasNoPrefix()
    {
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", Render(SmtpReply.StartData));
        Assert.Equal("250-a\r\n250 b\r\n", Render(new SmtpReply(250, null, ["a", "b"])));
    }

    [Fact]
    public void ToStringIsCodeEnhancedAndText()
    {
        Assert.Equal("452 4.5.3 Error: too many recipients", SmtpReply.TooManyRecipients.ToString());
        Assert.True(SmtpReply.Ok.IsPositive);
        Assert.True(SmtpReply.StartData.IsPositive);
        Assert.False(SmtpReply.TooManyRecipients.IsPermanent);
        Assert.True(SmtpReply.MessageTooBig.IsPermanent);
    }

    [Fact]
    public void EveryPredefinedReplyExceptStartDataHasAMatchingEnhancedCode()
    {
        var replies = typeof(SmtpReply).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(SmtpReply))
            .Select(f => (f.Name, Reply: (SmtpReply)f.GetValue(null)!))
            .ToList();
        Assert.NotEmpty(replies);
        foreach (var (name, reply) in replies)
        {
            if (reply.Code == 354) continue;
            Assert.True(reply.Enhanced is not null, $"{name} has no enhanced code");
            Assert.True(reply.Enhanced[0] - '0' == reply.Code / 100, $"{name}: {reply} class mismatch");
        }
    }
}
