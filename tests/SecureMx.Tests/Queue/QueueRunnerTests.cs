using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>The queue runner's delivery runs: how a message goes through the two pools, and what they log.</summary>
public sealed class QueueRunnerTests
{
    [Fact]
    public async Task AMessageWithLocalAndRemoteRecipientsIsReadFromTheQueueOncePerRun()
    {
        await using var h = await QueueRunnerHarness.CreateAsync();
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice"), new EnvelopeRecipient(
            QueueRunnerHarness.RemoteRecipient, QueueRunnerHarness.RemoteRecipient, RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)], announce: false);
        var before = h.Spool.Queue.Loads;

        h.Runner.MessageArrived(id);
        await h.SettleAsync("the first delivery run");

        // The local pool read it and handed it to the remote pool as it was: one read for the whole run.
        Assert.Equal(1, h.Spool.Queue.Loads - before);
        var (_, recipients) = h.Spool.Queue.Load(id)!.Value;
        Assert.Equal([RecipientState.Delivered, RecipientState.Deferred], recipients.Select(r => r.State));
        Assert.Single(h.AllDeliveredFiles());
        Assert.Equal([QueueRunnerHarness.Start], h.Dns.Attempts);
    }

    [Fact]
    public async Task ALocalDeliveryIsLoggedAsLocalNotAsPlaintext()
    {
        await using var h = await QueueRunnerHarness.CreateAsync();
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);

        Assert.Null(h.Spool.Queue.Load(id));
        var row = Assert.Single(h.Store.DeliveryLog.Query("alice@example.test", null, null, 10));
        Assert.Equal(("delivered", DeliveryLogEntry.Local, null, DeliveryLogEntry.Local, null), (row.Result, row.MxHost, row.Ip, row.TlsVerification, row.TlsProtocol));
        Assert.True(row.IsLocal);
    }

    [Fact]
    public async Task WhatADeliveryRunWritesBackIsCommittedWithoutAnFsyncOfItsOwn()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 90);
        var delivered = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);
        Assert.Null(h.Spool.Queue.Load(delivered));
        Assert.Equal(1, h.Spool.Queue.UnsyncedCommits); // the removal; the message's own commit was synced

        var deferred = await h.SendAsync(); // the default MX answer: SERVFAIL
        Assert.Equal(RecipientState.Deferred, h.Recipient(deferred)!.State);
        Assert.Equal(2, h.Spool.Queue.UnsyncedCommits);

        var large = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], bodySize: 300 * 1024); // a data file: removed synced
        Assert.Null(h.Spool.Queue.Load(large));
        Assert.Equal(2, h.Spool.Queue.UnsyncedCommits);
    }

    [Fact]
    public async Task AFailedLocalWriteIsADeferralWithALocalReasonRetriedAfterTheLocalInterval()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 90);
        // new/ is a file: the Maildir cannot be written.
        var maildir = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"));
        Directory.CreateDirectory(maildir);
        await File.WriteAllTextAsync(Path.Combine(maildir, "new"), "in the way", TestContext.Current.CancellationToken);

        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);

        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.MailboxUnavailable, 451), (r.State, r.LastOutcome!.Reason, r.LastOutcome.Status, r.LastOutcome.ReplyCode));
        Assert.StartsWith("4.2.0 local delivery failed: ", r.LastError);
        Assert.Equal(QueueRunnerHarness.Start.AddSeconds(90), r.NextAttemptAt);
        var row = Assert.Single(h.Store.DeliveryLog.Query("alice@example.test", null, null, 10));
        Assert.Equal(("deferred", 451, "4.2.0", DeliveryLogEntry.Local), (row.Result, row.Code, row.Enhanced, row.TlsVerification));
    }

    [Fact]
    public async Task AMessageRemovedWhileItWaitsForTheRemotePoolIsNotDelivered()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.RemoteConcurrency = 1);
        var release = new TaskCompletionSource();
        h.Dns.Hold = release.Task; // the one remote worker hangs in its first MX lookup
        var loads = h.Spool.Queue.Loads;
        var busy = await h.SendAsync(recipient: "user@busy.test", announce: false);
        h.Runner.MessageArrived(busy);
        await h.WaitUntilAsync("the remote worker to be busy", () => h.Dns.QueriedDomains.Count == 1);
        var waiting = await h.SendAsync(recipient: "user@waiting.test", announce: false);
        h.Runner.MessageArrived(waiting);
        await h.WaitUntilAsync("the second message in the remote pool's backlog", () => h.Spool.Queue.Loads == loads + 2);

        await h.Spool.RemoveAsync(waiting); // as `securemx queue delete` does, from another process
        release.SetResult();
        await h.SettleAsync("the busy message's run");

        Assert.Equal(["busy.test"], h.Dns.QueriedDomains);
        Assert.Null(h.Spool.Queue.Load(waiting));
        Assert.NotNull(h.Spool.Queue.Load(busy)); // deferred (SERVFAIL), still queued
    }

    [Theory]
    [InlineData(DurableStep.Write, Errno.ENOSPC)]
    [InlineData(DurableStep.SyncFile, Errno.EIO)]
    [InlineData(DurableStep.Rename, Errno.EIO)]
    [InlineData(DurableStep.SyncDirectory, Errno.ENOSPC)]
    public async Task AStorageFaultInMaildirDeliveryDefersTheRecipientAndTheRetryDeliversOneCopy(DurableStep step, Errno errno)
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        var maildir = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"));
        faults.Fail(step, errno, p => p.StartsWith(maildir, StringComparison.Ordinal));

        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);

        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.MailboxUnavailable), (r.State, r.LastOutcome!.Reason, r.LastOutcome.Status));
        Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "tmp")));
        Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "new")));

        faults.Clear();
        await h.RunForAsync(TimeSpan.FromSeconds(61));
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));
        Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "tmp")));
    }
}
