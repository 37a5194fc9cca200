using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>Replies and their enhanced codes (RFC 5321 §4.2, RFC 3463 §2, RFC 2034 §3).</summary>
public sealed class SmtpReplyTests
{
    [Fact]
    public void ToStringIsCodeEnhancedAndText()
    {
        Assert.Equal("452 4.5.3 Error: too many recipients", SmtpReply.TooManyRecipients.ToString());
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", SmtpReply.StartData.ToString());
        Assert.True(SmtpReply.Ok.IsPositive);
        Assert.True(SmtpReply.StartData.IsPositive);
        Assert.False(SmtpReply.TooManyRecipients.IsPermanent);
        Assert.True(SmtpReply.MessageTooBig.IsPermanent);
    }

    [Theory]
    [InlineData(550, 4)]
    [InlineData(451, 5)]
    [InlineData(250, 5)]
    public void AnEnhancedCodeOfAnotherClassThanTheReplyIsRefused(int code, int enhancedClass)
    {
        Assert.Throws<ArgumentException>(() => new SmtpReply(code, new EnhancedStatus(enhancedClass, 7, 1), "text"));
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
            Assert.True(reply.Enhanced.Value.Class == reply.Code / 100, $"{name}: {reply} class mismatch");
        }
    }
}
