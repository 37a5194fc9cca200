using Microsoft.Data.Sqlite;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// A delivery whose outcome the queue database cannot take (a full disk: the commit fails with
/// SQLITE_FULL through the fault seam) waits in memory as the outcome says — the local retry
/// interval, the retry schedule — instead of being tried again every 200 ms, and each failure is
/// one log line, with the stack trace only for the first of a run. A queue database that cannot be
/// read (SQLITE_IOERR through the same seam) costs the scheduler its looks until it can, not the server;
/// a message whose run fails (a row this version cannot read, a cancellation not the shutdown's) waits
/// the local retry interval too.
/// </summary>
public sealed class QueueRunnerStorageFaultTests
{
    [Fact]
    public async Task ALocalDeferralThatCannotBeWrittenIsRetriedAfterTheLocalIntervalNotInAHotLoop()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        var maildir = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"));
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false);
        faults.FailAlways(DurableStep.Write, Errno.ENOSPC, p => p.StartsWith(maildir, StringComparison.Ordinal));
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);
        int Attempts() => h.LogLines.Count(l => l.Contains($"{id}: to=<alice@example.test> relay=local status=deferred", StringComparison.Ordinal));

        h.Runner.MessageArrived(id);
        // Attempts at 0 s, 60 s and 120 s (each plus at most one scheduler step), none in between.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(150), () => Assert.True(Attempts() <= 3, $"{Attempts()} attempts by {h.Clock.GetUtcNow():O}"));

        Assert.Equal(3, Attempts());
        var errors = h.LogLines.Where(l => l.StartsWith("Error:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, errors.Count); // one line per failure, nothing from the queue database besides
        Assert.All(errors, l => Assert.Contains($"{id}: disk full: the outcome of 1 recipient(s) could not be written", l, StringComparison.Ordinal));
        Assert.Single(h.LogLines, l => !l.StartsWith("Debug:", StringComparison.Ordinal) && l.Contains("\n   at ", StringComparison.Ordinal)); // the stack trace once
        Assert.Equal(1, h.Runner.UnsavedMessages);
        Assert.Equal(0, h.Recipient(id)!.Attempts); // the database never took an attempt

        // Space again: the next attempt delivers, the message leaves the queue, and the log says the writes recovered.
        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(190), () => { });
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));
        Assert.Equal(0, h.Runner.UnsavedMessages);
        Assert.Single(h.LogLines, l => l.Contains("recording delivery outcomes in the queue database recovered after 3 failure(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADeliveryWhoseRemovalCannotBeWrittenIsNotDeliveredAgainAndLeavesTheQueueOnceTheDiskHasRoom()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        var maildirNew = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"), "new");
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false);
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);
        int Copies() => Directory.Exists(maildirNew) ? Directory.GetFiles(maildirNew).Length : 0;

        h.Runner.MessageArrived(id);
        // Delivered at once; the removal is tried again after the local interval, the delivery never.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(150), () => Assert.True(Copies() <= 1, $"{Copies()} copies by {h.Clock.GetUtcNow():O}"));
        Assert.Equal(1, Copies());
        Assert.NotNull(h.Spool.Queue.Load(id));
        Assert.Equal(3, h.LogLines.Count(l => l.StartsWith("Error:", StringComparison.Ordinal)));

        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(190), () => { });
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(1, Copies());
        Assert.Equal(0, h.Runner.UnsavedMessages);
    }

    [Fact]
    public async Task ARemoteDeferralThatCannotBeWrittenFollowsTheRetryScheduleAndIsWrittenWithEveryAttemptOnceTheDiskHasRoom()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Queue.RetryJitter = 0, faults: faults);
        var id = await h.SendAsync(announce: false);
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);

        h.Runner.MessageArrived(id);
        // SERVFAIL: the schedule says 5 and then 10 minutes, so attempts at 0, 5 and 15 minutes.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddMinutes(15.5), () => Assert.True(h.Dns.Attempts.Count <= 3, $"{h.Dns.Attempts.Count} attempts by {h.Clock.GetUtcNow():O}"));
        var at = h.Dns.Attempts.Select(t => t - QueueRunnerHarness.Start).ToList();
        Assert.Equal(3, at.Count);
        Assert.InRange(at[1], TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(6));
        Assert.InRange(at[2], TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(12));
        Assert.Single(h.LogLines, l => !l.StartsWith("Debug:", StringComparison.Ordinal) && l.Contains("\n   at ", StringComparison.Ordinal));

        // The write is tried again after the local interval: then every attempt is counted and the next one is on the schedule.
        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddMinutes(17), () => { });
        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, 3), (r.State, r.Attempts));
        Assert.InRange(r.NextAttemptAt - QueueRunnerHarness.Start, TimeSpan.FromMinutes(35), TimeSpan.FromMinutes(35) + TimeSpan.FromSeconds(12));
        Assert.Equal(0, h.Runner.UnsavedMessages);
        Assert.Equal(3, h.Dns.Attempts.Count);
    }

    [Fact]
    public async Task ABounceThatTheFullDiskCannotTakeIsSpooledOnceItHasRoomAndTheRecipientIsNotTriedAgain()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(mx: FakeMailDns.NxDomain, configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        var id = await h.SendAsync(announce: false);
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC); // neither the bounce nor the recipient's new state can be written

        h.Runner.MessageArrived(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(150), () => Assert.Empty(h.Dsns()));
        Assert.NotNull(h.Spool.Queue.Load(id));

        // Space again: the bounce is spooled (and delivered to the sender's Maildir) before the message leaves the queue.
        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(220), () => { });
        Assert.Null(h.Spool.Queue.Load(id));
        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("failed", dsn.Action);
        Assert.Equal(0, h.Runner.UnsavedMessages);
        Assert.Single(h.Dns.Attempts); // the failure stands: the recipient was not tried again to make the report
    }

    [Fact]
    public async Task ADelayWarningThatTheFullDiskCannotTakeIsSpooledOnceItHasRoom()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o =>
        {
            o.Queue.RetryJitter = 0;
            o.Queue.DelayWarningAfter = "1m";
        }, faults: faults);
        var id = await h.SendAsync(announce: false);
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);

        h.Runner.MessageArrived(id);
        // SERVFAIL at 0, 5 and 15 minutes: the warning is due from the second attempt on and cannot be spooled.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddMinutes(15.5), () => Assert.Empty(h.Dsns()));
        Assert.Equal(3, h.Dns.Attempts.Count);

        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddMinutes(17), () => { });
        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("delayed", dsn.Action);
        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, 3, true), (r.State, r.Attempts, r.DelayWarned));
        Assert.Equal(0, h.Runner.UnsavedMessages);
    }

    [Fact]
    public async Task TheNoteOfAHeldMessageThatTheOperatorDeletedGoesWhenItsHoldEnds()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false);
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);
        h.Runner.MessageArrived(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(30), () => { });
        Assert.Equal(1, h.Runner.UnsavedMessages);

        // `securemx queue delete` from another process, once there is room: the message is never due again.
        faults.Clear();
        await h.Spool.RemoveAsync(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(90), () => { });
        Assert.Equal(0, h.Runner.UnsavedMessages);
    }

    [Fact]
    public async Task HeldMessagesDoNotCrowdOutOtherDueMailFromTheSchedulersBatch()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60, faults: faults);
        h.Runner.DueBatchSize = 1;
        var ids = new List<string>();
        for (int i = 0; i < 2; i++) ids.Add(await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false));
        ids.Sort(StringComparer.Ordinal); // the database names due messages in this order
        faults.FailAlways(DurableStep.Commit, Errno.ENOSPC);
        h.Runner.MessageArrived(ids[0]);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(1), () => { });
        faults.Clear();

        // The first message is held for 60 s (its removal could not be written); the second is due and must not wait for it.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(20), () => { });
        Assert.Null(h.Spool.Queue.Load(ids[1]));
        Assert.NotNull(h.Spool.Queue.Load(ids[0]));
        Assert.Equal(1, h.Runner.UnsavedMessages);
    }

    [Fact]
    public async Task AQueueDatabaseThatCannotBeReadCostsTheSchedulerItsLooksNotTheServerAndTheDueMailGoesOnceItCanBeRead()
    {
        var faults = new StorageFaultPlan();
        await using var h = await QueueRunnerHarness.CreateAsync(faults: faults);
        var maildirNew = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"), "new");
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false); // due now; only the scheduler finds it
        faults.FailAlways(DurableStep.QueueRead, Errno.EIO);
        int Failures() => h.LogLines.Count(l => l.StartsWith("Error:", StringComparison.Ordinal)
            && l.Contains("looking for due mail in the queue database failed (SQLite Error 10: 'disk I/O error'.); the next look is in 5 s", StringComparison.Ordinal));

        // A look every 5 s, each failing: one line each (the stack trace once), and the queue keeps running.
        h.Runner.Kick();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(21), () => Assert.False(h.Runner.ExecuteTask!.IsCompleted, "the queue runner stopped"));
        Assert.InRange(Failures(), 4, 6);
        Assert.Single(h.LogLines, l => !l.StartsWith("Debug:", StringComparison.Ordinal) && l.Contains("\n   at ", StringComparison.Ordinal));
        Assert.False(Directory.Exists(maildirNew) && Directory.GetFiles(maildirNew).Length > 0);

        // Readable again: the next look finds the message, it is delivered once, and the log says the looks recovered.
        faults.Clear();
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(30), () => { });
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(Directory.GetFiles(maildirNew));
        Assert.Single(h.LogLines, l => l.Contains($"looking for due mail in the queue database recovered after {Failures()} failure(s)", StringComparison.Ordinal));
        Assert.False(h.Runner.ExecuteTask!.IsCompleted);
    }

    [Fact]
    public async Task AMessageWhoseDeliveryRunFailsIsTriedAgainAfterTheLocalIntervalNotAtEveryLook()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60);
        var maildirNew = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"), "new");
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false);
        // A row this version cannot read (written by a newer one, or damaged): loading the message throws.
        SetBodyType(h, id, "EightBitMimeV2");
        int Failures() => h.LogLines.Count(l => l.StartsWith("Error:", StringComparison.Ordinal) && l.Contains($"{id}: delivery run failed", StringComparison.Ordinal));

        h.Runner.MessageArrived(id);
        // Due all along, but tried at 0 s, 60 s and 120 s (each plus at most one scheduler step), not at every look.
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(150), () => Assert.True(Failures() <= 3, $"{Failures()} failed runs by {h.Clock.GetUtcNow():O}"));
        Assert.Equal(3, Failures());
        Assert.Single(h.LogLines, l => !l.StartsWith("Debug:", StringComparison.Ordinal) && l.Contains("\n   at ", StringComparison.Ordinal)); // the stack trace once

        // Readable again (the newer version is back, or the row repaired): the next run delivers it.
        SetBodyType(h, id, nameof(BodyType.SevenBit));
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(190), () => { });
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(Directory.GetFiles(maildirNew));
        Assert.Equal(0, h.Runner.HeldAfterFailedRuns);
        Assert.Single(h.LogLines, l => l.Contains($"{id}: delivery run completed after 3 failed run(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheHoldOfAMessageWhoseRunFailedGoesWhenTheOperatorDeletesIt()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60);
        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")], announce: false);
        SetBodyType(h, id, "EightBitMimeV2");
        h.Runner.MessageArrived(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(30), () => { });
        Assert.Equal(1, h.Runner.HeldAfterFailedRuns);

        // `securemx queue delete` from another process: the message is never due again, and its hold goes when it ends.
        await h.Spool.RemoveAsync(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(90), () => { });
        Assert.Equal(0, h.Runner.HeldAfterFailedRuns);
    }

    [Fact]
    public async Task ADeliveryRunEndedByACancellationThatIsNotTheShutdownsIsHeldLikeAnyFailedRun()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => o.Delivery.LocalRetrySeconds = 60);
        var id = await h.SendAsync(announce: false);
        // A resolver call that ends in a cancellation of its own (a timeout inside a library), not the server's shutdown.
        h.Dns.Hold = Task.FromCanceled(new CancellationToken(canceled: true));

        h.Runner.MessageArrived(id);
        await StepUntilAsync(h, QueueRunnerHarness.Start.AddSeconds(150), () => Assert.True(h.Dns.Attempts.Count <= 3, $"{h.Dns.Attempts.Count} attempts by {h.Clock.GetUtcNow():O}"));
        Assert.Equal(3, h.Dns.Attempts.Count);
        Assert.Equal(3, h.LogLines.Count(l => l.StartsWith("Error:", StringComparison.Ordinal) && l.Contains($"{id}: delivery run failed", StringComparison.Ordinal)));
        Assert.False(h.Runner.ExecuteTask!.IsCompleted);
    }

    private static void SetBodyType(QueueRunnerHarness h, string id, string body)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = h.Spool.Queue.DatabasePath, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE messages SET body=$body WHERE id=$id";
        cmd.Parameters.AddWithValue("$body", body);
        cmd.Parameters.AddWithValue("$id", id);
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    /// <summary>
    /// Moves the clock to <paramref name="target"/> from one timer to the next; before each step waits
    /// (real time, bounded) until the runner is quiet — the scheduler waiting on a timer in the future
    /// and the log unchanged for a few polls — and runs <paramref name="check"/>, so that a hot loop
    /// fails at once instead of running its course.
    /// </summary>
    private static async Task StepUntilAsync(QueueRunnerHarness h, DateTimeOffset target, Action check)
    {
        while (true)
        {
            await QuietAsync(h);
            check();
            var next = h.Clock.NextPending ?? throw new InvalidOperationException("nothing waits on the clock\n" + h.Diagnostics());
            if (next.Due > target) break;
            await Task.Run(() => h.Clock.MoveTo(next.Due));
        }
        await Task.Run(() => h.Clock.MoveTo(target));
        await QuietAsync(h);
        check();
    }

    private static async Task QuietAsync(QueueRunnerHarness h)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int quietPolls = 0, lines = -1;
        while (quietPolls < 4)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the runner did not become quiet\n" + h.Diagnostics());
            await Task.Delay(5);
            int now = h.LogLines.Count;
            bool waiting = h.Clock.PendingOneShotCount == 1 && h.Clock.NextPending is { } t && t.Due > h.Clock.GetUtcNow();
            quietPolls = waiting && now == lines ? quietPolls + 1 : 0;
            lines = now;
        }
    }
}
