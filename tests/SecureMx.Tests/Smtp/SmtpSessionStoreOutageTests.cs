using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Smtp;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// A store that cannot be read (PostgreSQL gone; here the directory's tables are gone, which fails
/// the same queries with the same kind of error) never turns into a refusal it would not have given:
/// a recipient or sender that cannot be decided gets 451 4.3.0, a login 454 4.7.0, and the session
/// goes on. With a directory cache whose change feed is lost, what the snapshot knows is still served.
/// </summary>
public sealed class SmtpSessionStoreOutageTests
{
    private const string Alice = "alice@example.org";

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static void BreakTheStore(SmtpTestServer server) =>
        server.Store.Database.Execute("ALTER TABLE aliases RENAME TO aliases_gone; ALTER TABLE mailboxes RENAME TO mailboxes_gone; ALTER TABLE domains RENAME TO domains_gone;");

    private static Task<SmtpTestServer> Submission() =>
        SmtpTestServer.StartAsync(o => o.Auth.FailureDelay = "0s", listener: ListenerSettings.SubmissionStartTls);

    private static async Task<RawSmtpClient> TlsClientAsync(SmtpTestServer server)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        await c.EhloAsync();
        return c;
    }

    [Fact]
    public async Task ARecipientThatCannotBeLookedUpGets451AndTheSessionGoesOn()
    {
        await using var server = await SmtpTestServer.StartAsync();
        BreakTheStore(server);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
        var reply = await c.CommandAsync("RCPT TO:<alice@example.org>", 451, "4.3.0");
        Assert.Contains("try again later", reply.Text);
        await c.CommandAsync("RCPT TO:<x@not-hosted.example>", 451, "4.3.0"); // not 554: relay or not is not known either
        await c.CommandAsync("RSET", 250);
        await c.CommandAsync("QUIT", 221);
    }

    [Fact]
    public async Task ALoginWhosePasswordCannotBeReadGets454NotA535()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        BreakTheStore(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, SmtpTestServer.Password), 454, "4.7.0");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task TheSenderOfALoggedInClientThatCannotBeCheckedGets451()
    {
        await using var server = await Submission();
        await using var c = await TlsClientAsync(server);
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, SmtpTestServer.Password), 235);
        BreakTheStore(server);
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 451, "4.3.0");
        await c.CommandAsync("MAIL FROM:<>", 250); // the null sender needs no lookup
    }

    [Fact]
    public async Task WithTheFeedLostTheCachedDirectoryServesKnownRecipientsAndUnknownOnesGet451()
    {
        DirectoryCache? cache = null;
        await using var server = await SmtpTestServer.StartAsync(mailboxes: db => new MailboxRepository(db, TimeProvider.System, cache = DirectoryCache.For(db, TimeProvider.System, NullLogger.Instance)));
        Assert.NotNull(cache);
        Assert.True(await cache.FeedConnected());
        await using (var c = await server.ConnectEhloAsync())
        {
            // While the feed vouches for the snapshot, a miss is a real miss.
            await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
            await c.CommandAsync("RCPT TO:<nobody@example.org>", 550, "5.1.1");
            await c.CommandAsync("RCPT TO:<x@not-hosted.example>", 554, "5.7.1");
        }

        cache.FeedLost();
        BreakTheStore(server);
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("MAIL FROM:<a@remote.example>", 250);
            await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
            await c.CommandAsync("RCPT TO:<sales+news@example.org>", 250);
            await c.CommandAsync("RCPT TO:<nobody@example.org>", 451, "4.3.0");
            await c.CommandAsync("RCPT TO:<x@unknown-domain.example>", 451, "4.3.0");
            await c.CommandAsync("DATA", 354);
            await c.SendAsync("Subject: t\r\n\r\nx\r\n.\r\n");
            var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
            var envelope = server.Spool.Queue.Load(id)!.Value.Envelope;
            Assert.Equal(["alice@example.org", "bob@example.org"], envelope.Recipients.Select(r => r.Address).Order());
        }
    }
}
