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
        .Timeout("slow.example")
        .Txt("reject.example", "v=spf1 -all").Txt("_dmarc.reject.example", "v=DMARC1; p=reject")
        .Txt("quarantine.example", "v=spf1 -all").Txt("_dmarc.quarantine.example", "v=DMARC1; p=quarantine");

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
    private static async Task<(TestReply Reply, SmtpTestServer Server)> SendFrom(string author, Func<string, bool>? enforces, params string[] recipients)
    {
        var server = await SmtpTestServer.StartAsync();
        server.Context.MailAuthentication = new InboundAuthenticator(Zone(), PublicSuffixList.Parse(["example"]), TimeProvider.System);
        server.Context.EnforcesDmarc = enforces;
        await using var c = await server.ConnectEhloAsync("client.test");
        await c.CommandAsync($"MAIL FROM:<bounce@{author}>", 250);
        foreach (var r in recipients) await c.CommandAsync($"RCPT TO:<{r}>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync(Encoding.ASCII.GetBytes($"From: alice@{author}\r\nSubject: s\r\n\r\nhi\r\n.\r\n"));
        return ((await c.ReadReplyAsync())!, server);
    }

    [Fact]
    public async Task APRejectFailureIsRefusedWhenEveryRecipientDomainEnforces()
    {
        var (reply, server) = await SendFrom("reject.example", d => d == "example.org", "alice@example.org", "bob@example.org");
        await using (server)
        {
            Assert.Equal((550, "5.7.1"), (reply.Code, reply.Enhanced));
            Assert.Contains("DMARC policy for reject.example", reply.Text);
            Assert.Empty(server.Arrivals.Ids);
        }
    }

    [Theory]
    [InlineData("reject.example", false)] // nobody enforces
    [InlineData("quarantine.example", true)] // quarantine is accepted and marked
    public async Task OtherwiseTheMessageIsAccepted(string author, bool enforce)
    {
        var (reply, server) = await SendFrom(author, _ => enforce, "alice@example.org");
        await using (server)
        {
            Assert.Equal(250, reply.Code);
            var envelope = server.Spool.Queue.Load(RawSmtpClient.QueueId(reply))!.Value.Envelope;
            Assert.Contains("\tdmarc=fail (p=", envelope.AuthenticationResults);
        }
    }

    [Fact]
    public async Task MixedRecipientsAreAcceptedBecauseDataHasOneReply()
    {
        var (reply, server) = await SendFrom("reject.example", d => d == "example.org", "alice@example.org", "carol@other.test");
        await using (server) Assert.Equal(250, reply.Code);
    }

    [Fact]
    public async Task AStoreThatCannotBeReadAccepts()
    {
        var (reply, server) = await SendFrom("reject.example", _ => throw new Microsoft.Data.Sqlite.SqliteException("database is locked", 5), "alice@example.org");
        await using (server) Assert.Equal(250, reply.Code);
    }
}
