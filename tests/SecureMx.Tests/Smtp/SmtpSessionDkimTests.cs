using System.Text;
using SecureMx.Dkim;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// DKIM signing in the SMTP session: a logged-in account's message is queued signed (DATA and BDAT), a
/// message on the MX never is, and a key that cannot be read is a 451 that queues nothing, after which the
/// session goes on.
/// </summary>
public sealed class SmtpSessionDkimTests
{
    private const string Alice = "alice@example.org";
    private static readonly byte[] Content = "From: Alice <alice@example.org>\r\nTo: friend@elsewhere.example\r\nSubject: hi\r\n\r\nhello\r\n"u8.ToArray();

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static (DkimTestKeys Keys, DkimKey Key) WithKey(SmtpTestServer server)
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", DkimAlgorithm.Ed25519);
        var repository = new DkimKeyRepository(server.Store.Database, TimeProvider.System);
        repository.Add(key);
        server.Context.Signer = new SubmissionSigner(repository, keys, TimeProvider.System);
        return (keys, key);
    }

    private static async Task<RawSmtpClient> LoggedInAsync(SmtpTestServer server)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        await c.EhloAsync();
        await c.CommandAsync("AUTH PLAIN " + Plain(Alice, SmtpTestServer.Password), 235, "2.7.0");
        return c;
    }

    private static Task<SmtpTestServer> Submission() =>
        SmtpTestServer.StartAsync(o => o.Auth.FailureDelay = "0s", listener: ListenerSettings.SubmissionStartTls);

    [Fact]
    public async Task SubmittedMailIsQueuedSignedAndVerifies()
    {
        await using var server = await Submission();
        var (keys, _) = WithKey(server);
        await using var c = await LoggedInAsync(server);
        var id = await c.SendMessageAsync(Alice, ["friend@elsewhere.example"], Content);
        var queued = server.ReadMessage(id);
        Assert.StartsWith("DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=s1;", Encoding.ASCII.GetString(queued));
        Assert.Equal([true], keys.Verify(queued));
        Assert.Equal(queued.Length, server.Spool.Queue.Load(id)!.Value.Envelope.Size);
        Assert.Empty(server.IncomingFiles()); // the unsigned copy is gone
    }

    [Fact]
    public async Task MailSentWithBdatIsSignedToo()
    {
        await using var server = await Submission();
        var (keys, _) = WithKey(server);
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync($"MAIL FROM:<{Alice}>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 250);
        await c.SendAsync($"BDAT {Content.Length} LAST\r\n");
        await c.SendAsync(Content);
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250));
        Assert.Equal([true], keys.Verify(server.ReadMessage(id)));
    }

    [Fact]
    public async Task MailArrivingOnTheMxIsNeverSigned()
    {
        await using var server = await SmtpTestServer.StartAsync();
        WithKey(server);
        await using var c = await server.ConnectEhloAsync();
        var id = await c.SendMessageAsync("someone@elsewhere.example", [Alice], Content);
        Assert.DoesNotContain("DKIM-Signature", Encoding.ASCII.GetString(server.ReadMessage(id)));
    }

    [Fact]
    public async Task AKeyThatCannotBeReadIsA451ThatQueuesNothingAndTheSessionGoesOn()
    {
        await using var server = await Submission();
        var (keys, key) = WithKey(server);
        var pem = keys.Load(key.Domain, key.Selector);
        keys.Delete(key.Domain, key.Selector);
        await using var c = await LoggedInAsync(server);
        await c.CommandAsync($"MAIL FROM:<{Alice}>", 250);
        await c.CommandAsync("RCPT TO:<friend@elsewhere.example>", 250);
        await c.CommandAsync("DATA", 354);
        await c.SendAsync(Content);
        await c.SendAsync(".\r\n");
        var refused = await c.ExpectAsync(451, "4.3.0");
        Assert.Contains("DKIM", refused.Text, StringComparison.Ordinal);
        Assert.Empty(server.Arrivals.Ids);
        Assert.Empty(server.IncomingFiles());

        keys.Save(key.Domain, key.Selector, pem); // the key is back: the retry goes through, signed
        var id = await c.SendMessageAsync(Alice, ["friend@elsewhere.example"], Content);
        Assert.Equal([true], keys.Verify(server.ReadMessage(id)));
    }
}
