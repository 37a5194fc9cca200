using System.Text;
using SecureMx.MailAuth;
using SecureMx.MailAuth.Dmarc;
using SecureMx.Tests.MailAuth;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>The MX session authenticates a message before its 250 and keeps the result with the envelope; the spooled bytes stay the client's.</summary>
public sealed class SmtpInboundAuthenticationTests
{
    private static InMemoryDns Zone() => new InMemoryDns()
        .Txt("sender.example", "v=spf1 ip4:127.0.0.0/8 -all")
        .Txt("_dmarc.sender.example", "v=DMARC1; p=reject")
        .Txt("softfail.example", "v=spf1 ~all")
        .Timeout("slow.example");

    private const string Content = "From: alice@sender.example\r\nSubject: hi\r\nAuthentication-Results: mx.test; spf=pass smtp.mailfrom=forged\r\n\r\nhello\r\n";

    [Theory]
    [InlineData("bounce@sender.example", "spf=pass dkim=none dmarc=pass")]
    [InlineData("x@softfail.example", "spf=softfail dkim=none dmarc=fail")]
    [InlineData("x@slow.example", "spf=temperror dkim=none dmarc=fail")]
    [InlineData("x@nospf.example", "spf=none dkim=none dmarc=fail")]
    public async Task TheResultIsStoredWithTheEnvelopeAndTheContentStaysAsSent(string sender, string summary)
    {
        await using var server = await SmtpTestServer.StartAsync();
        server.Context.MailAuthentication = new InboundAuthenticator(Zone(), PublicSuffixList.Parse(["example"]), TimeProvider.System);
        await using var c = await server.ConnectEhloAsync("client.test");
        var id = await c.SendMessageAsync(sender, ["alice@example.org"], Encoding.ASCII.GetBytes(Content));
        var envelope = server.Spool.Queue.Load(id)!.Value.Envelope;
        Assert.NotNull(envelope.AuthenticationResults);
        Assert.StartsWith("Authentication-Results: mx.test;\r\n", envelope.AuthenticationResults);
        foreach (var part in summary.Split(' ')) Assert.Contains("\t" + part, envelope.AuthenticationResults);
        Assert.Equal(Content, Encoding.ASCII.GetString(server.ReadMessage(id)));
    }

    [Fact]
    public async Task WithoutAuthenticationNoResultsAreStored()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync("client.test");
        var id = await c.SendMessageAsync("bounce@sender.example", ["alice@example.org"], Encoding.ASCII.GetBytes(Content));
        Assert.Null(server.Spool.Queue.Load(id)!.Value.Envelope.AuthenticationResults);
    }
}
