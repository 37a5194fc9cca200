using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// A destination none of whose hosts can be reached (Delivery/Remote/UnreachableDestinations): the message that
/// finds it down suspends it; the next ones are deferred without an MX lookup or a connection, with a reason that
/// says so, until the suspension ends or the operator asks for a retry.
/// </summary>
public sealed class UnreachableDestinationQueueTests
{
    private static readonly DateTimeOffset T0 = QueueRunnerHarness.Start;

    private static Task<QueueRunnerHarness> DownDestinationAsync() => QueueRunnerHarness.CreateAsync(
        (domain, _) => MxResolution.FromRecords(domain, [("mx.remote.test", 10)], DnsSecurity.Insecure, new Random(1)),
        o => o.Delivery.SmtpPort = LoopbackPort.Closed());

    [Fact]
    public async Task TheMessageAfterOneThatFoundEveryHostDownIsDeferredWithoutALookupOrAConnection()
    {
        await using var h = await DownDestinationAsync();

        var first = await h.SendAsync();
        Assert.Single(h.Dns.Attempts);
        Assert.Contains("mx.remote.test[127.0.0.1]", h.Recipient(first)!.LastError);

        var second = await h.SendAsync();
        Assert.Single(h.Dns.Attempts); // no MX lookup: nothing was tried
        var r = h.Recipient(second)!;
        Assert.Equal((RecipientState.Deferred, 1), (r.State, r.Attempts));
        Assert.StartsWith("4.4.1 delivery temporarily suspended: mx.remote.test[127.0.0.1]", r.LastError);
        Assert.Equal(OutcomeReason.Connection, r.LastOutcome!.Reason);
        // Due again by the retry schedule, like any deferral (5 min ± 20 %), not at the end of the suspension.
        Assert.InRange(r.NextAttemptAt, T0 + TimeSpan.FromMinutes(4), T0 + TimeSpan.FromMinutes(6));
        var log = h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 10).Single(l => l.MessageId == second);
        Assert.Equal(("deferred", 451, "4.4.1", (string?)null), (log.Result, log.Code, log.Enhanced, log.MxHost));
        Assert.StartsWith("delivery temporarily suspended: ", log.Text ?? "");
        Assert.Contains(h.LogLines, l => l.Contains($"{second}: to=<{QueueRunnerHarness.RemoteRecipient}> relay=none tls=none status=deferred (delivery temporarily suspended: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASuspendedDestinationsMessageIsDeferredWithoutWaitingBehindTheAttemptStillInFlight()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.remote.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o =>
            {
                o.Delivery.SmtpPort = LoopbackPort.Closed();
                o.Delivery.DestinationConcurrency = 1;
            });
        var hold = new TaskCompletionSource();
        h.Dns.Hold = hold.Task; // the first attempt keeps the destination's only slot, waiting for its MX lookup
        var first = await h.SendAsync(announce: false);
        h.Runner.MessageArrived(first);
        await h.WaitUntilAsync("the first attempt to hold the slot", () => h.Dns.Attempts.Count == 1);

        h.Remote.Unreachable.Suspend("remote.test", "mx.remote.test[127.0.0.1]: Connection refused");
        var second = await h.SendAsync(announce: false);
        h.Runner.MessageArrived(second);

        await h.WaitUntilAsync("the second message's deferral", () => h.Recipient(second)?.Attempts == 1);
        Assert.StartsWith("4.4.1 delivery temporarily suspended: mx.remote.test[127.0.0.1]", h.Recipient(second)!.LastError);
        Assert.Equal(0, h.Recipient(first)!.Attempts); // still in flight
        hold.SetResult();
        await h.SettleAsync("the first attempt");
        Assert.Equal(1, h.Recipient(first)!.Attempts);
    }

    [Fact]
    public async Task AfterTheSuspensionTheNextMessageTriesTheHostsAgain()
    {
        await using var h = await DownDestinationAsync();
        await h.SendAsync();
        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(61)); // delivery.unreachableSuspendSeconds: 60

        await h.SendAsync();

        Assert.Equal(2, h.Dns.Attempts.Count);
    }

    [Fact]
    public async Task QueueRetryEndsEverySuspensionAtOnce()
    {
        await using var h = await DownDestinationAsync();
        await h.SendAsync();
        Assert.NotNull(h.Remote.Unreachable.Find("remote.test"));

        QueueWakeSignal.Signal(h.Spool.Root); // what `securemx queue retry` does

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (h.Remote.Unreachable.Find("remote.test") is not null && DateTime.UtcNow < until) await Task.Delay(20, TestContext.Current.CancellationToken);
        Assert.Null(h.Remote.Unreachable.Find("remote.test"));
    }

    [Fact]
    public async Task AQueueRetryTheSchedulersLookSeesBeforeTheWatcherDoesEndsTheSuspensionBeforeItsMailIsTried()
    {
        await using var h = await DownDestinationAsync();
        var first = await h.SendAsync();
        Assert.NotNull(h.Remote.Unreachable.Find("remote.test"));

        // `securemx queue retry --all` as a look of the scheduler meets it when the watcher's event has not come
        // yet: the token put in place by a rename, which the watcher (Changed, Created) does not report; then
        // the due times changed.
        var wake = QueueWakeSignal.DirectoryOf(h.Spool.Root);
        File.WriteAllText(Path.Combine(wake, "retry.new"), "a-retry-the-watcher-did-not-see");
        File.Move(Path.Combine(wake, "retry.new"), Path.Combine(wake, "retry"), overwrite: true);
        Assert.Equal(1, h.Spool.Queue.RetryNow(null, h.Clock.GetUtcNow()));
        Assert.NotNull(h.Remote.Unreachable.Find("remote.test"));

        await h.RunUntilAsync(h.Clock.GetUtcNow() + TimeSpan.FromSeconds(6)); // the scheduler's next look

        var r = h.Recipient(first)!;
        Assert.Equal(2, r.Attempts);
        Assert.Equal(2, h.Dns.Attempts.Count); // tried again: an MX lookup and a connection, not deferred as suspended
        Assert.Contains("mx.remote.test[127.0.0.1]", r.LastError);
        Assert.DoesNotContain("suspended", r.LastError);
    }

    [Fact]
    public async Task WithTheSuspensionOffEveryMessageTriesTheHosts()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.remote.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o =>
            {
                o.Delivery.SmtpPort = LoopbackPort.Closed();
                o.Delivery.UnreachableSuspendSeconds = 0;
            });

        await h.SendAsync();
        await h.SendAsync();

        Assert.Equal(2, h.Dns.Attempts.Count);
    }
}
