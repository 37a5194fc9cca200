using System.Text;
using SecureMx.Mail;
using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

/// <summary>How the transport writes replies (RFC 5321 §4.2.1, RFC 2034 §3).</summary>
public sealed class SmtpTransportTests
{
    private static async Task<string> RenderAsync(SmtpReply reply)
    {
        var wire = new MemoryStream();
        await using (var transport = new SmtpTransport(wire))
        {
            transport.Write(reply);
            await transport.FlushAsync(TestContext.Current.CancellationToken);
            return Encoding.UTF8.GetString(wire.ToArray());
        }
    }

    [Fact]
    public async Task SingleLineReplyCarriesTheEnhancedCode()
    {
        Assert.Equal("250 2.1.5 Recipient OK\r\n", await RenderAsync(SmtpReply.RecipientOk));
    }

    [Fact]
    public async Task MultiLineReplyUsesDashesAndRepeatsTheEnhancedCodeOnEveryLine()
    {
        var reply = new SmtpReply(550, EnhancedStatus.NotAuthorized, ["first", "second", "third"]);
        Assert.Equal("550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", await RenderAsync(reply));
    }

    [Fact]
    public async Task ReplyWithoutEnhancedCodeHasNoPrefix()
    {
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", await RenderAsync(SmtpReply.StartData));
        Assert.Equal("250-a\r\n250 b\r\n", await RenderAsync(new SmtpReply(250, null, ["a", "b"])));
    }
}
