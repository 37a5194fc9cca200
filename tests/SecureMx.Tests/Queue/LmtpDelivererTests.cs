using System.Text;
using MimeKit;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// The queue runner with delivery.lmtp set: hosted recipients go to a scripted LMTP server, and each
/// recipient's own reply decides its fate — delivered once, deferred and retried after
/// delivery.localRetrySeconds, or bounced alone with a DSN (which itself arrives by LMTP).
/// </summary>
public sealed class LmtpDelivererTests
{
    private const string Original = "MAIL FROM:<alice@example.test>";

    private static async Task<QueueRunnerHarness> HarnessAsync(string target, int retrySeconds = 90, Action<SecureMxOptions>? configure = null) =>
        await QueueRunnerHarness.CreateAsync(configure: o =>
        {
            o.Delivery.Lmtp = target;
            o.Delivery.LocalRetrySeconds = retrySeconds;
            configure?.Invoke(o);
        });

    private static EnvelopeRecipient[] Local(params string[] locals) => locals.Select(QueueRunnerHarness.LocalRecipient).ToArray();

    /// <summary>The transactions of the test message (not of DSNs, which come from the null sender).</summary>
    private static List<FakeLmtpTransaction> OfOriginal(FakeLmtpServer server) => server.Transactions.Where(t => t.Mail.StartsWith(Original, StringComparison.Ordinal)).ToList();

    private static int RcptCount(FakeLmtpServer server, string address) => OfOriginal(server).Sum(t => t.Rcpts.Count(r => r == $"RCPT TO:<{address}>"));

    /// <summary>The DSNs the server received (MAIL FROM:&lt;&gt;), parsed: the per-recipient status groups of each.</summary>
    private static List<HeaderList> DsnRecipientGroups(FakeLmtpServer server) =>
        server.Transactions.Where(t => t.Mail.StartsWith("MAIL FROM:<>", StringComparison.Ordinal))
            .Select(t => MimeMessage.Load(new MemoryStream(t.Content)))
            .SelectMany(m => Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(m.Body)[1]).StatusGroups.Skip(1))
            .ToList();

    [Fact]
    public async Task EachRecipientsReplyAfterTheMessageDeliversDefersOrBouncesItAlone()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.AfterData = a => a switch
        {
            "bob@example.test" => "452 4.2.2 <bob@example.test> Mailbox is full",
            "carol@example.test" => "550 5.1.1 <carol@example.test> User doesn't exist",
            _ => $"250 2.0.0 <{a}> id Saved",
        };
        await using var h = await HarnessAsync(server.Target);

        var id = await h.SendAsync(Local("alice", "bob", "carol"));

        var rows = h.Spool.Queue.Load(id)!.Value.Recipients;
        Assert.Equal([RecipientState.Delivered, RecipientState.Deferred, RecipientState.Failed], rows.Select(r => r.State));
        var bob = rows[1];
        Assert.Equal((EnhancedStatus.Parse("4.2.2"), 452), (bob.LastOutcome!.Status, bob.LastOutcome.ReplyCode));
        Assert.Equal(QueueRunnerHarness.Start.AddSeconds(90), bob.NextAttemptAt);
        Assert.Equal((EnhancedStatus.BadDestinationMailbox, 550), (rows[2].LastOutcome!.Status, rows[2].LastOutcome!.ReplyCode));
        // The bounce: a failed DSN for carol alone, with the LMTP server's reply as its diagnostic.
        var group = Assert.Single(DsnRecipientGroups(server));
        Assert.Equal(("failed", "5.1.1"), (group["Action"], group["Status"]));
        Assert.Equal("rfc822; carol@example.test", group["Final-Recipient"]);
        Assert.Equal("smtp; 550 5.1.1 <carol@example.test> User doesn't exist", group["Diagnostic-Code"]);

        // The retry carries bob alone: alice was delivered and is never sent again.
        server.AfterData = a => $"250 2.0.0 <{a}> id Saved";
        await h.RunForAsync(TimeSpan.FromSeconds(91));

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(["RCPT TO:<bob@example.test>"], OfOriginal(server)[1].Rcpts);
        Assert.Equal((1, 2, 1), (RcptCount(server, "alice@example.test"), RcptCount(server, "bob@example.test"), RcptCount(server, "carol@example.test")));
        Assert.Empty(h.AllDeliveredFiles()); // nothing went around LMTP into a Maildir
    }

    [Fact]
    public async Task ARecipientRefusedAtRcptIsBouncedAloneAndTheLogNamesLmtpAndTheReply()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.RcptReply = a => a == "bob@example.test" ? "550 5.1.1 <bob@example.test> User doesn't exist: bob@example.test" : "250 2.1.5 OK";
        await using var h = await HarnessAsync(server.Target);

        var id = await h.SendAsync(Local("alice", "bob"));

        Assert.Null(h.Spool.Queue.Load(id)); // both final
        var t = OfOriginal(server).Single();
        Assert.Equal(["RCPT TO:<alice@example.test>", "RCPT TO:<bob@example.test>"], t.Rcpts);
        var group = Assert.Single(DsnRecipientGroups(server));
        Assert.Equal(("failed", "5.1.1", "rfc822; bob@example.test"), (group["Action"], group["Status"], group["Final-Recipient"]));

        var alice = Assert.Single(h.Store.DeliveryLog.Query("alice@example.test", QueueRunnerHarness.Sender, null, 10));
        Assert.Equal(("delivered", 250, "2.0.0", DeliveryLogEntry.Local, null, DeliveryLogEntry.Local), (alice.Result, alice.Code, alice.Enhanced, alice.MxHost, alice.Ip, alice.TlsVerification));
        Assert.Equal("2.0.0 delivered by LMTP: 250 2.0.0 <alice@example.test> fake-id Saved", alice.Text);
        var bob = Assert.Single(h.Store.DeliveryLog.Query("bob@example.test", null, null, 10));
        Assert.Equal(("failed", 550, "5.1.1"), (bob.Result, bob.Code, bob.Enhanced));
        Assert.Equal("5.1.1 LMTP server said: 550 5.1.1 <bob@example.test> User doesn't exist: bob@example.test", bob.Text);
    }

    [Fact]
    public async Task AMissingSocketDefersEveryRecipientUntilTheServerIsBack()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("lmtp");
        await using var h = await HarnessAsync("unix:" + path, retrySeconds: 60);

        var id = await h.SendAsync(Local("alice", "bob"));

        var rows = h.Spool.Queue.Load(id)!.Value.Recipients;
        Assert.All(rows, r =>
        {
            Assert.Equal((RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.NoAnswerFromHost, 451), (r.State, r.LastOutcome!.Reason, r.LastOutcome.Status, r.LastOutcome.ReplyCode));
            Assert.StartsWith("4.4.1 LMTP server not reachable: ", r.LastError);
            Assert.Equal(QueueRunnerHarness.Start.AddSeconds(60), r.NextAttemptAt);
        });
        Assert.Empty(h.AllDeliveredFiles()); // no Maildir fallback: the mailbox server owns the mailboxes

        await using var server = FakeLmtpServer.StartUnix(path);
        await h.RunForAsync(TimeSpan.FromSeconds(61));

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(["RCPT TO:<alice@example.test>", "RCPT TO:<bob@example.test>"], OfOriginal(server).Single().Rcpts);
    }

    [Fact]
    public async Task AConnectionLostAfterTheFirstReplyDeliversThatRecipientOnceAndRetriesTheOther()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.DropAfterDataReplies = 1;
        await using var h = await HarnessAsync(server.Target);

        var id = await h.SendAsync(Local("alice", "bob"));

        var rows = h.Spool.Queue.Load(id)!.Value.Recipients;
        Assert.Equal([RecipientState.Delivered, RecipientState.Deferred], rows.Select(r => r.State));
        Assert.Equal(EnhancedStatus.BadConnection, rows[1].LastOutcome!.Status);
        Assert.Contains("not known to be delivered", rows[1].LastError);

        server.DropAfterDataReplies = null;
        await h.RunForAsync(TimeSpan.FromSeconds(91));

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal((1, 2), (RcptCount(server, "alice@example.test"), RcptCount(server, "bob@example.test")));
        Assert.Empty(DsnRecipientGroups(server));
    }

    [Fact]
    public async Task AServerThatSays421AndClosesDefersEveryRecipient()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.MailReply = _ => "421 4.3.2 Shutting down";
        await using var h = await HarnessAsync(server.Target);

        var id = await h.SendAsync(Local("alice", "bob"));

        var rows = h.Spool.Queue.Load(id)!.Value.Recipients;
        Assert.All(rows, r => Assert.Equal((RecipientState.Deferred, QueueRunnerHarness.Start.AddSeconds(90)), (r.State, r.NextAttemptAt)));
        Assert.Empty(server.Transactions);

        server.MailReply = _ => "250 2.1.0 OK";
        await h.RunForAsync(TimeSpan.FromSeconds(91));
        Assert.Null(h.Spool.Queue.Load(id));
    }

    [Fact]
    public async Task AServerThatDoesNotAnswerAfterTheMessageTimesOutAndDefers()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var never = new TaskCompletionSource();
        server.HoldAfterData = never.Task;
        await using var h = await HarnessAsync(server.Target, configure: o => o.Delivery.TransactionTimeoutSeconds = 1);

        var id = await h.SendAsync(Local("alice"));

        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.BadConnection), (r.State, r.LastOutcome!.Status));
        Assert.Contains("timed out", r.LastError);
    }

    [Fact]
    public async Task TheInstancePostmasterMaildirIsStillWrittenDirectly()
    {
        await using var server = FakeLmtpServer.StartTcp();
        await using var h = await HarnessAsync(server.Target);
        var postmaster = new EnvelopeRecipient("postmaster@example.test", "postmaster@example.test", RecipientRoute.Local,
            RecipientRouter.InstancePostmasterMaildir, DsnNotify.Unspecified, null, null);

        var id = await h.SendAsync([postmaster, QueueRunnerHarness.LocalRecipient("alice")]);

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(Directory.GetFiles(Path.Combine(h.DataDirectory, RecipientRouter.InstancePostmasterMaildir, "new")));
        Assert.Equal(["RCPT TO:<alice@example.test>"], OfOriginal(server).Single().Rcpts);
    }

    [Fact]
    public async Task NoMoreThanLocalConcurrencyConnectionsAtOnce()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var release = new TaskCompletionSource();
        server.HoldAfterData = release.Task;
        // Messages with a remote recipient too run in the remote pool, many at once: only the deliverer limits their LMTP connections.
        await using var h = await HarnessAsync(server.Target, configure: o => o.Delivery.LocalConcurrency = 1);
        var remote = new EnvelopeRecipient(QueueRunnerHarness.RemoteRecipient, QueueRunnerHarness.RemoteRecipient, RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var ids = new List<string>();
        for (int i = 0; i < 3; i++) ids.Add(await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice"), remote], announce: false));

        foreach (var id in ids) h.Runner.MessageArrived(id);
        await h.WaitUntilAsync("the first LMTP transaction", () => server.Transactions.Count == 1);
        await Task.Delay(300, TestContext.Current.CancellationToken); // time for more connections, were they allowed
        Assert.Equal(1, server.Connections);
        release.SetResult();
        await h.SettleAsync("the three deliveries");

        Assert.Equal(1, server.MaxConcurrentConnections);
        Assert.Equal(3, RcptCount(server, "alice@example.test"));
        Assert.All(ids, id => Assert.Equal(RecipientState.Delivered, h.Spool.Queue.Load(id)!.Value.Recipients[0].State));
    }

    [Fact]
    public async Task TheMessageCarriesOurReceivedHeaderToTheMailboxAddressAndLeavesReturnPathToTheServer()
    {
        await using var server = FakeLmtpServer.StartTcp();
        await using var h = await HarnessAsync(server.Target);
        // A subaddress as the client wrote it; the router resolved it to alice's mailbox.
        var tagged = new EnvelopeRecipient("alice@example.test", "alice+news@example.test", RecipientRoute.Local,
            MailboxRepository.MaildirFor("alice", "example.test"), DsnNotify.Unspecified, null, null);

        await h.SendAsync([tagged]);
        await h.SendAsync(Local("alice", "bob"));

        var (single, both) = (OfOriginal(server)[0], OfOriginal(server)[1]);
        Assert.Equal(["RCPT TO:<alice@example.test>"], single.Rcpts);
        var text = Encoding.UTF8.GetString(single.Content);
        Assert.StartsWith("Received: from localhost ([127.0.0.1])\r\n\tby mx.example.test (SecureMx) with local id ", text);
        Assert.Contains("\r\n\tfor <alice@example.test>; ", text);
        Assert.DoesNotContain("Return-Path:", text);
        Assert.Contains("\r\nSubject: queue test ", text);
        // With two recipients the Received header names neither (no disclosure of the other).
        var shared = Encoding.UTF8.GetString(both.Content);
        Assert.StartsWith("Received: from localhost ([127.0.0.1])", shared);
        Assert.DoesNotContain("for <", shared[..shared.IndexOf("\r\nFrom:", StringComparison.Ordinal)]);
    }
}
