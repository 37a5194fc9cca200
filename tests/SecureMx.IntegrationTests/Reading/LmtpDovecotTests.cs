using System.Text;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// An instance that delivers to a real Dovecot over LMTP (the socket `dovecot-config` sets up),
/// with a 64 KiB quota per mailbox added to the generated configuration and local retries every
/// second, so per-recipient replies and Dovecot's absence can be watched within a test.
/// </summary>
public sealed class LmtpDovecotFixture : DovecotInstanceFixture
{
    public const string Domain = "lmtp.test";

    public override async ValueTask InitializeAsync()
    {
        string[] boxes = ["sender", "full", "fine", "locked", "fine2", "down1", "down2"];
        Mx = await SecureMxInstance.CreateAsync(Domain, boxes.Select(b => $"{b}@{Domain}").ToArray(), cfg =>
        {
            cfg["dns"] = Net.Text(Net.FreeEndpoint());
            cfg["listeners"]!["dovecotPolicy"] = Net.Text(Net.FreeEndpoint());
            cfg["delivery"]!["localRetrySeconds"] = 1;
        }, owner: DovecotFixture.Owner);
        Dovecot = await DovecotPeer.StartAsync(Mx);
        await Dovecot.AppendConfigAsync("""
            # test only: a small quota, so that one recipient of a message can be over it
            mail_plugins = $mail_plugins quota
            plugin {
              quota = maildir:User quota
              quota_rule = *:storage=64K
              quota_grace = 0
            }
            """);
        await Mx.StartAsync();
    }
}

public sealed class LmtpDovecotTests(LmtpDovecotFixture f) : IClassFixture<LmtpDovecotFixture>
{
    private static string A(string local) => $"{local}@{LmtpDovecotFixture.Domain}";

    private async Task SendAsync(string from, string token, int bodyBytes, params string[] to)
    {
        await using var smtp = await RawSmtp.ConnectAsync(f.Mx.Mx);
        await smtp.ReadReplyAsync();
        Assert.StartsWith("250", await smtp.CommandAsync("EHLO client.example"));
        Assert.StartsWith("250", await smtp.CommandAsync($"MAIL FROM:<{from}>"));
        foreach (var r in to) Assert.StartsWith("250", await smtp.CommandAsync($"RCPT TO:<{r}>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        var body = new StringBuilder();
        while (body.Length < bodyBytes) body.Append("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n");
        await smtp.SendAsync($"From: <{from}>\r\nSubject: lmtp {token}\r\nMessage-ID: <{token}@example.org>\r\n\r\n{token}\r\n{body}.\r\n");
        Assert.StartsWith("250", string.Join("\n", await smtp.ReadReplyAsync()));
    }

    /// <summary>How many messages in the mailbox (new/ and cur/) carry the token.</summary>
    private int Copies(string address, string token)
    {
        var at = address.IndexOf('@');
        var root = Path.Combine(f.Mx.DataDir, "mail", address[(at + 1)..], address[..at]);
        return new[] { "new", "cur" }.Select(d => Path.Combine(root, d)).Where(Directory.Exists)
            .SelectMany(Directory.GetFiles).Count(file => File.ReadAllText(file).Contains(token, StringComparison.Ordinal));
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 40)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what + "\nSecureMx log:\n" + f.Mx.Log + "\nDovecot log:\n" + f.Dovecot.Log);
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task AnOverQuotaRecipientBouncesAloneWithADsnWhileTheOtherIsDeliveredOnce()
    {
        // Fill "full" close to its quota, then send one message to it and to "fine" in one transaction.
        var filler = SubmissionClient.Token();
        await SendAsync("someone@example.org", filler, 60 * 1024, A("full"));
        await WaitUntilAsync(() => Copies(A("full"), filler) == 1, "the filler did not arrive");

        var token = SubmissionClient.Token();
        await SendAsync(A("sender"), token, 8 * 1024, A("full"), A("fine"));
        await WaitUntilAsync(() => Copies(A("sender"), "Delivery Status Notification") + Copies(A("sender"), token) >= 1 && Copies(A("fine"), token) == 1,
            "no DSN for the over-quota recipient, or no delivery to the other");
        await Task.Delay(3000); // several retry intervals: nothing more may happen
        Assert.Equal(1, Copies(A("fine"), token));
        Assert.Equal(0, Copies(A("full"), token));
        var dsnFile = DsnFiles(A("sender"), token).Single();
        var dsn = File.ReadAllText(dsnFile);
        Assert.Matches(@"Final-Recipient: rfc822; ?" + A("full"), dsn);
        Assert.DoesNotMatch(@"Final-Recipient: rfc822; ?" + A("fine"), dsn);
        Assert.Matches(@"Status: 5\.2\.2", dsn);
        await f.Mx.WaitForLogAsync($"to=<{A("full")}> relay=lmtp");
    }

    [Fact]
    public async Task ATemporaryFailureForOneRecipientRetriesOnlyThatRecipient()
    {
        // Dovecot cannot write into "locked"'s Maildir: a 4xx for it, 250 for the other.
        var maildir = Path.Combine(f.Mx.DataDir, "mail", LmtpDovecotFixture.Domain, "locked");
        var mode = File.GetUnixFileMode(maildir);
        File.SetUnixFileMode(maildir, UnixFileMode.None);
        var token = SubmissionClient.Token();
        try
        {
            await SendAsync("someone@example.org", token, 100, A("locked"), A("fine2"));
            await WaitUntilAsync(() => Copies(A("fine2"), token) == 1, "the other recipient was not delivered");
            await WaitUntilAsync(() => f.Mx.Log.Contains($"to=<{A("locked")}> relay=lmtp", StringComparison.Ordinal) &&
                                       f.Mx.Log.Contains("status=deferred", StringComparison.Ordinal), "the locked recipient was not deferred");
        }
        finally
        {
            File.SetUnixFileMode(maildir, mode);
        }
        await WaitUntilAsync(() => Copies(A("locked"), token) == 1, "the deferred recipient was not delivered after its Maildir came back");
        await Task.Delay(2500);
        Assert.Equal(1, Copies(A("fine2"), token)); // the retry carried only the deferred recipient
        Assert.Equal(1, Copies(A("locked"), token));
    }

    [Fact]
    public async Task MailArrivingWhileDovecotIsStoppedFor20SecondsIsDeliveredOnceWhenItReturns()
    {
        var tokens = Enumerable.Range(0, 5).Select(_ => SubmissionClient.Token()).ToArray();
        await f.Dovecot.StopAsync();
        try
        {
            foreach (var t in tokens) await SendAsync("someone@example.org", t, 200, A("down1"), A("down2"));
            await Task.Delay(TimeSpan.FromSeconds(20));
            Assert.All(tokens, t => Assert.Equal(0, Copies(A("down1"), t) + Copies(A("down2"), t)));
            await f.Mx.WaitForLogAsync("relay=lmtp");
            await f.Mx.WaitForLogAsync("status=deferred");
        }
        finally
        {
            await f.Dovecot.StartAsync();
        }
        await WaitUntilAsync(() => tokens.All(t => Copies(A("down1"), t) == 1 && Copies(A("down2"), t) == 1), "not everything was delivered after Dovecot returned");
        await Task.Delay(2500);
        Assert.All(tokens, t => Assert.Equal((1, 1), (Copies(A("down1"), t), Copies(A("down2"), t))));
        var queue = await f.Mx.Cli("queue", "list");
        Assert.DoesNotContain(A("down1"), queue.StdOut);
    }

    private IEnumerable<string> DsnFiles(string address, string token)
    {
        var at = address.IndexOf('@');
        var root = Path.Combine(f.Mx.DataDir, "mail", address[(at + 1)..], address[..at]);
        return new[] { "new", "cur" }.Select(d => Path.Combine(root, d)).Where(Directory.Exists).SelectMany(Directory.GetFiles)
            .Where(file => File.ReadAllText(file) is var text && text.Contains(token, StringComparison.Ordinal) && text.Contains("delivery-status", StringComparison.OrdinalIgnoreCase));
    }
}
