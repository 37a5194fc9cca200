using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Queue;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// The queue's time rules — retry schedule, the one delay DSN, expiry — on a fake clock, with a fake
/// resolver instead of DNS (<see cref="QueueRunnerHarness"/>). The clock stops at every wake-up of the
/// runner's scheduler, so attempts happen exactly when the runner would make them with a real clock.
/// </summary>
public sealed class QueueTimeRulesTests
{
    private static readonly DateTimeOffset T0 = QueueRunnerHarness.Start;
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private static TimeSpan Minutes(double m) => TimeSpan.FromMinutes(m);
    private static TimeSpan Hours(double h) => TimeSpan.FromHours(h);

    /// <summary>RFC 5322 dates have whole seconds.</summary>
    private static DateTimeOffset Seconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static void ExpireAfterTwoHours(SecureMxOptions o)
    {
        o.Queue.ExpireAfter = "2h";
        o.Queue.DelayWarningAfter = "1h";
    }

    private static void SecondsScale(SecureMxOptions o)
    {
        o.Queue.RetrySchedule = "1s";
        o.Queue.MaxRetryInterval = "1s";
        o.Queue.RetryJitter = 0;
        o.Queue.DelayWarningAfter = "3s";
        o.Queue.ExpireAfter = "5s";
    }

    [Fact]
    public async Task DeferredRecipientIsRetriedOnTheScheduleAndOnlyOnceItIsDue()
    {
        await using var h = await QueueRunnerHarness.CreateAsync();
        var id = await h.SendAsync();

        var r = h.Recipient(id)!;
        Assert.Equal(RecipientState.Deferred, r.State);
        Assert.Equal(1, r.Attempts);
        Assert.StartsWith("4.4.3 ", r.LastError);
        Assert.Contains("SERVFAIL", r.LastError);
        Assert.Equal([T0], h.Dns.Attempts);

        // Default schedule 5m, 10m, 20m, 40m, then hourly; each ±20 % (and the due time is kept in whole milliseconds).
        double[] steps = [5, 10, 20, 40, 60, 60];
        var attemptAt = T0;
        for (int i = 0; i < steps.Length; i++)
        {
            var due = r.NextAttemptAt;
            Assert.InRange(due - attemptAt, Minutes(steps[i] * 0.8) - Ms, Minutes(steps[i] * 1.2));

            await h.RunUntilAsync(due - Ms);
            Assert.Equal(i + 1, h.Recipient(id)!.Attempts);
            Assert.Equal(i + 1, h.Dns.Attempts.Count);

            // The scheduler looks at least every 5 s, and exactly at the due time when it knows it.
            await h.RunUntilAsync(due + TimeSpan.FromSeconds(5));
            r = h.Recipient(id)!;
            Assert.Equal(i + 2, r.Attempts);
            Assert.Equal(i + 2, h.Dns.Attempts.Count);
            attemptAt = h.Dns.Attempts[^1];
            Assert.InRange(attemptAt, due, due + TimeSpan.FromSeconds(5));
            Assert.Equal(RecipientState.Deferred, r.State);
            Assert.StartsWith("4.4.3 ", r.LastError);
        }

        // Every attempt is in the delivery log, at its time.
        var log = h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 100);
        Assert.Equal(h.Dns.Attempts, log.Select(e => e.At));
        Assert.All(log, e => Assert.Equal(("deferred", "4.4.3", id), (e.Result, e.Enhanced, e.MessageId)));
    }

    [Fact]
    public async Task ExactlyOneDelayDsnOnceTheMessageIsAnHourOld()
    {
        await using var h = await QueueRunnerHarness.CreateAsync();
        var id = await h.SendAsync();

        await h.RunUntilAsync(T0 + Hours(1) - Ms);
        Assert.Empty(h.Dsns());
        Assert.False(h.Recipient(id)!.DelayWarned);
        var attemptsBeforeTheHour = h.Dns.Attempts.Count;
        Assert.Equal(4, attemptsBeforeTheHour); // 0, ~5, ~15, ~35 minutes

        // The next attempt (60..90 minutes) is the first after the hour: it warns.
        await h.RunUntilAsync(T0 + Minutes(91));
        var warnedAt = h.Dns.Attempts[attemptsBeforeTheHour];
        Assert.InRange(warnedAt, T0 + Hours(1), T0 + Minutes(90));
        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("delayed", dsn.Action);
        Assert.Equal("4.4.3", dsn.Status);
        Assert.Equal($"rfc822; {QueueRunnerHarness.RemoteRecipient}", dsn.Recipient["Final-Recipient"]);
        Assert.Equal(T0 + TimeSpan.FromDays(5), dsn.Date("Will-Retry-Until"));
        Assert.Equal(Seconds(warnedAt), dsn.Date("Last-Attempt-Date"));
        Assert.Equal(id, dsn.PerMessage["X-SecureMx-Queue-ID"]);
        Assert.Equal("Delivery Status Notification (Delay)", dsn.Message.Subject);
        Assert.Contains("SERVFAIL", dsn.Message.TextBody);
        var r = h.Recipient(id)!;
        Assert.True(r.DelayWarned);
        Assert.Equal(RecipientState.Deferred, r.State);

        // Hours of further attempts: no second delay DSN.
        var attempts = h.Dns.Attempts.Count;
        await h.RunUntilAsync(T0 + Hours(5));
        Assert.InRange(h.Dns.Attempts.Count, attempts + 3, attempts + 5);
        Assert.Equal(dsn.Path, Assert.Single(h.Dsns()).Path);
        r = h.Recipient(id)!;
        Assert.Equal(RecipientState.Deferred, r.State);
        Assert.True(r.DelayWarned);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(300 * 1024)] // above MessageSpool.InlineLimit: a data file in spool/data
    public async Task RecipientExpiresWithALastAttemptExactlyAtExpireAfter(int size)
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: ExpireAfterTwoHours);
        var id = await h.SendAsync(bodySize: size);
        Assert.True(h.HasData(id));
        Assert.Equal(size > 0, File.Exists(h.Spool.DataPath(id)));

        await h.RunUntilAsync(T0 + Hours(2) - Ms);
        Assert.Equal(RecipientState.Deferred, h.Recipient(id)!.State);
        Assert.Equal("delayed", Assert.Single(h.Dsns()).Action);

        await h.RunUntilAsync(T0 + Hours(4));
        Assert.Null(h.Spool.Queue.Load(id));
        await h.WaitUntilAsync("the message's data to be deleted", () => !h.HasData(id));

        // The retry after the attempt at about 75 minutes would come at 2h15m ±12m; it is made at two hours instead, and expires it.
        var expiredAt = h.Dns.Attempts[^1];
        Assert.Equal(T0 + Hours(2), expiredAt);
        Assert.True(h.Dns.Attempts[^2] < T0 + Hours(2));
        var dsns = h.Dsns();
        Assert.Equal(2, dsns.Count);
        Assert.Single(dsns, d => d.Action == "delayed");
        var failed = Assert.Single(dsns, d => d.Action == "failed");
        Assert.Equal("5.4.7", failed.Status);
        Assert.Null(failed.Recipient["Will-Retry-Until"]);
        Assert.Equal(Seconds(expiredAt), failed.Date("Last-Attempt-Date"));
        Assert.Equal("Delivery Status Notification (Failure)", failed.Message.Subject);
        Assert.Contains("delivery time expired after 2h", failed.Message.TextBody);
        Assert.Contains("SERVFAIL", failed.Message.TextBody);

        // Gone for good: no further attempts, no further DSNs.
        var attempts = h.Dns.Attempts.Count;
        await h.RunForAsync(Minutes(30));
        Assert.Equal(attempts, h.Dns.Attempts.Count);
        Assert.Equal(2, h.Dsns().Count);
        Assert.Empty(h.Spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task HourlyRetriesStillBounceADeferralExactlyAtExpireAfter()
    {
        // Attempts at 0, 5, 15, 35, 75 minutes, then hourly: 135 … 315; the next would be at 375, 45 minutes
        // after the promised 5h30m. The last attempt is made at 5h30m and fails the recipient there.
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o =>
        {
            o.Queue.RetryJitter = 0;
            o.Queue.ExpireAfter = "330m";
        });
        var id = await h.SendAsync();

        await h.RunUntilAsync(T0 + Hours(7));

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(new double[] { 0, 5, 15, 35, 75, 135, 195, 255, 315, 330 }.Select(m => T0 + Minutes(m)), h.Dns.Attempts);
        var failed = Assert.Single(h.Dsns(), d => d.Action == "failed");
        Assert.Equal("5.4.7", failed.Status);
        Assert.Equal(T0 + Minutes(330), failed.Date("Last-Attempt-Date"));
        Assert.Contains("delivery time expired after 5h30m", failed.Message.TextBody);
        var delayed = Assert.Single(h.Dsns(), d => d.Action == "delayed");
        Assert.Equal(T0 + Minutes(330), delayed.Date("Will-Retry-Until"));
        var last = h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 100)[^1];
        Assert.Equal(("failed", 554, "5.4.7", T0 + Minutes(330)), (last.Result, last.Code, last.Enhanced, last.At));
    }

    [Fact]
    public async Task ARetryIsNeverScheduledAfterTheExpiry()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o =>
        {
            o.Queue.RetryJitter = 0;
            o.Queue.ExpireAfter = "330m";
        });
        var id = await h.SendAsync();

        await h.RunUntilAsync(T0 + Minutes(315) + TimeSpan.FromSeconds(1));

        var r = h.Recipient(id)!;
        Assert.Equal((RecipientState.Deferred, 9), (r.State, r.Attempts));
        Assert.Equal(T0 + Minutes(330), r.NextAttemptAt);
        Assert.Equal(OutcomeReason.Dns, r.LastOutcome!.Reason);
    }

    [Fact]
    public async Task PermanentDnsFailureBouncesAtTheFirstAttemptWithoutADelayDsn()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);
        var id = await h.SendAsync();

        Assert.Null(h.Spool.Queue.Load(id));
        await h.WaitUntilAsync("the message's data to be deleted", () => !h.HasData(id));
        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("failed", dsn.Action);
        Assert.Equal("5.1.2", dsn.Status);
        Assert.Equal(T0, dsn.Date("Last-Attempt-Date"));
        Assert.Contains("remote.test does not exist", dsn.Message.TextBody);
        Assert.Equal([T0], h.Dns.Attempts);

        await h.RunForAsync(Hours(1) + Minutes(1));
        Assert.Equal(dsn.Path, Assert.Single(h.Dsns()).Path);
        Assert.Equal([T0], h.Dns.Attempts);
        var log = Assert.Single(h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 10));
        Assert.Equal(("failed", "5.1.2"), (log.Result, log.Enhanced));
    }

    [Theory]
    [InlineData(DsnNotify.Unspecified, true, true)]
    [InlineData(DsnNotify.Success | DsnNotify.Failure, false, true)]
    [InlineData(DsnNotify.Failure, false, true)]
    [InlineData(DsnNotify.Delay, true, false)]
    [InlineData(DsnNotify.Delay | DsnNotify.Failure, true, true)]
    [InlineData(DsnNotify.Never, false, false)]
    public async Task ExpiringRecipientGetsExactlyTheDsnsItsNotifyAsksFor(DsnNotify notify, bool delayDsn, bool failureDsn)
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: ExpireAfterTwoHours);
        var id = await h.SendAsync(notify: notify);

        await h.RunUntilAsync(T0 + Hours(2) - Ms);
        Assert.Equal(RecipientState.Deferred, h.Recipient(id)!.State);
        Assert.Equal(delayDsn ? ["delayed"] : [], h.Dsns().Select(d => d.Action));

        await h.RunUntilAsync(T0 + Hours(4));
        Assert.Null(h.Spool.Queue.Load(id));
        string[] expected = [.. delayDsn ? ["delayed"] : Array.Empty<string>(), .. failureDsn ? ["failed"] : Array.Empty<string>()];
        Assert.Equal(expected, h.Dsns().Select(d => d.Action));
        if (!delayDsn && !failureDsn) Assert.Empty(h.AllDeliveredFiles());
        Assert.Empty(h.Spool.Queue.AllMessageIds()); // no DSN left behind in the queue either
    }

    [Fact]
    public async Task NotifyNeverRecipientOfAnUnknownDomainFailsWithoutADsn()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);
        var id = await h.SendAsync(notify: DsnNotify.Never);

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Empty(h.AllDeliveredFiles());
        Assert.Empty(h.Spool.Queue.AllMessageIds());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FailedMessageFromTheNullSenderGetsNoDsn(bool permanent)
    {
        await using var h = await QueueRunnerHarness.CreateAsync(permanent ? FakeMailDns.NxDomain : FakeMailDns.ServFail, ExpireAfterTwoHours);
        var id = await h.SendAsync(sender: "");

        if (!permanent)
        {
            await h.RunUntilAsync(T0 + Hours(2) - Ms);
            var r = h.Recipient(id)!;
            Assert.Equal(RecipientState.Deferred, r.State);
            Assert.True(r.DelayWarned); // the warning was due, but there is nobody to tell
            await h.RunUntilAsync(T0 + Hours(4));
        }

        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Empty(h.AllDeliveredFiles()); // neither alice nor any postmaster got anything
        Assert.Empty(h.Spool.Queue.AllMessageIds());
        if (permanent) Assert.Equal("5.1.2", h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 100)[^1].Enhanced);
    }

    [Fact]
    public async Task SecondsScaleConfigurationWarnsOnceAndExpiresOnTheFakeClockToo()
    {
        // Queued before the runner starts (as after a restart): the scheduler's first look finds it,
        // and from then on it wakes the runner exactly at each due time.
        await using var h = await QueueRunnerHarness.CreateAsync(configure: SecondsScale, start: false);
        var id = await h.SendAsync(announce: false);
        await h.StartAsync();
        Assert.Equal([T0], h.Dns.Attempts);

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(3) - Ms);
        Assert.Equal([T0, T0.AddSeconds(1), T0.AddSeconds(2)], h.Dns.Attempts);
        Assert.Empty(h.Dsns());

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(3));
        var delayed = Assert.Single(h.Dsns());
        Assert.Equal(("delayed", "4.4.3"), (delayed.Action, delayed.Status));
        Assert.Equal(T0.AddSeconds(5), delayed.Date("Will-Retry-Until"));
        Assert.Equal(T0.AddSeconds(3), delayed.Date("Last-Attempt-Date"));

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(5) - Ms);
        Assert.Equal(RecipientState.Deferred, h.Recipient(id)!.State);
        Assert.Single(h.Dsns());

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(5));
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(Enumerable.Range(0, 6).Select(s => T0.AddSeconds(s)), h.Dns.Attempts);
        var dsns = h.Dsns();
        Assert.Equal(["delayed", "failed"], dsns.Select(d => d.Action));
        Assert.Equal("5.4.7", dsns[1].Status);
        Assert.Contains("delivery time expired after 5s", dsns[1].Message.TextBody);
        Assert.Equal(T0.AddSeconds(5), dsns[1].Date("Last-Attempt-Date"));
    }

    [Fact]
    public async Task SecondsScaleRetryOfANewlyArrivedMessageIsMadeWhenDue()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: SecondsScale);
        var id = await h.SendAsync();
        Assert.Equal(T0.AddSeconds(1), h.Recipient(id)!.NextAttemptAt);

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(1));
        Assert.Equal([T0, T0.AddSeconds(1)], h.Dns.Attempts);

        await h.RunUntilAsync(T0 + TimeSpan.FromSeconds(5));
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Equal(["delayed", "failed"], h.Dsns().Select(d => d.Action));
    }

    [Fact]
    public async Task ExpiryIsRecordedInTheDeliveryLog()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: ExpireAfterTwoHours);
        var id = await h.SendAsync();
        await h.RunUntilAsync(T0 + Hours(4));
        Assert.Null(h.Spool.Queue.Load(id));

        var last = h.Store.DeliveryLog.Query(QueueRunnerHarness.RemoteRecipient, null, null, 100)[^1];
        Assert.Equal(("failed", "5.4.7"), (last.Result, last.Enhanced));
    }

    [Fact]
    public async Task RecipientDeliveredAfterItsDelayDsnGetsNoFailureDsn()
    {
        // The only test here with a socket: the MX is an in-process SMTP server on loopback.
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        var reachableFrom = T0 + Minutes(100);
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, at) => at < reachableFrom
                ? MxResolution.TemporaryFailure(domain, "SERVFAIL")
                : MxResolution.FromRecords(domain, [("mx.other.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o =>
            {
                o.Delivery.SmtpPort = server.Endpoint.Port;
                o.Queue.RetryJitter = 0; // attempts at 0, 5, 15, 35, 75, 135 minutes
            });
        var id = await h.SendAsync(recipient: "carol@other.test");

        await h.RunUntilAsync(T0 + Minutes(135) - Ms);
        Assert.Equal(5, h.Dns.Attempts.Count);
        Assert.Equal("delayed", Assert.Single(h.Dsns()).Action);
        Assert.Empty(server.Arrivals.Ids);

        await h.RunUntilAsync(T0 + Hours(3));
        Assert.Equal(T0 + Minutes(135), h.Dns.Attempts[^1]);
        Assert.Null(h.Spool.Queue.Load(id));
        var received = Assert.Single(server.Arrivals.Ids);
        Assert.Contains($"Message-ID: <{id}@example.test>", System.Text.Encoding.ASCII.GetString(server.ReadMessage(received)));
        Assert.Equal("delayed", Assert.Single(h.Dsns()).Action); // delivered: no failure DSN, and no success DSN without NOTIFY=SUCCESS
        var last = h.Store.DeliveryLog.Query("carol@other.test", null, null, 100)[^1];
        Assert.Equal(("delivered", "mx.other.test"), (last.Result, last.MxHost));
    }

    // ---- the rules alone ------------------------------------------------------------------------------

    private static readonly DateTimeOffset Received = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static QueueTimeRules Rules(string expireAfter = "5d", string tlsExpireAfter = "24h") =>
        new(new QueueOptions { ExpireAfter = expireAfter, TlsExpireAfter = tlsExpireAfter, RetryJitter = 0 });

    [Fact]
    public void ATlsWaitExpiresAfterTlsExpireAfterEverythingElseAfterExpireAfter()
    {
        var rules = Rules();
        Assert.Equal(Received.AddHours(24), rules.ExpiresAt(Received, TestOutcomes.TlsWait()));
        Assert.Equal(Received.AddDays(5), rules.ExpiresAt(Received, TestOutcomes.Deferred()));
        Assert.Equal(Received.AddDays(5), rules.ExpiresAt(Received, null)); // not tried yet
        // A TLS outcome that is not a wait any more (expired, failed) is not a TLS wait.
        Assert.Equal(Received.AddDays(5), rules.ExpiresAt(Received, TestOutcomes.TlsWait() with { State = RecipientState.Failed }));
    }

    [Fact]
    public void ExpireAfterEndsATlsWaitTooWhenItIsShorter()
    {
        Assert.Equal(Received.AddHours(12), Rules(expireAfter: "12h").ExpiresAt(Received, TestOutcomes.TlsWait()));
    }

    [Fact]
    public void TheNextAttemptIsCappedAtTheExpiry()
    {
        var rules = Rules(expireAfter: "2h");
        var now = Received.AddMinutes(100);
        // The schedule's fifth step is the hourly maximum: 2h40m, capped at 2h.
        Assert.Equal(Received.AddHours(2), rules.NextAttempt(Received, TestOutcomes.Deferred(), 5, now, null, new Random(1)));
        Assert.Equal(Received.AddMinutes(55), rules.NextAttempt(Received, TestOutcomes.Deferred(), 3, Received.AddMinutes(35), null, new Random(1)));
        // A deliverer's own interval (local delivery) is capped the same way.
        Assert.Equal(now.AddSeconds(60), rules.NextAttempt(Received, TestOutcomes.Deferred(), 1, now, TimeSpan.FromSeconds(60), new Random(1)));
        Assert.Equal(Received.AddHours(2), rules.NextAttempt(Received, TestOutcomes.Deferred(), 1, Received.AddHours(2).AddSeconds(-10), TimeSpan.FromSeconds(60), new Random(1)));
        // A TLS wait by its own, shorter expiry.
        Assert.Equal(Received.AddHours(2), Rules(tlsExpireAfter: "2h").NextAttempt(Received, TestOutcomes.TlsWait(), 5, now, null, new Random(1)));
    }

    [Fact]
    public void ADeferralAtTheExpiryFailsWith547AndKeepsTheLastError()
    {
        var rules = Rules(expireAfter: "2h");
        var deferred = TestOutcomes.DnsDeferred();
        Assert.Null(rules.Expire(Received, deferred, Received.AddHours(2) - Ms));
        Assert.False(rules.IsExpired(Received, deferred, Received.AddHours(2) - Ms));

        var expired = rules.Expire(Received, deferred, Received.AddHours(2))!;

        Assert.True(rules.IsExpired(Received, deferred, Received.AddHours(2)));
        Assert.Equal((RecipientState.Failed, OutcomeReason.Expired, EnhancedStatus.DeliveryTimeExpired, 554), (expired.State, expired.Reason, expired.Status, expired.ReplyCode));
        Assert.Equal($"5.4.7 delivery time expired after 2h; last error: {deferred.Text}", expired.Text);
        Assert.Null(rules.Expire(Received, TestOutcomes.Delivered(), Received.AddDays(9))); // only a deferral expires
    }

    [Theory]
    [InlineData(TlsRequirementSource.Sender, "5.7.4 mandatory TLS could not be met within 24h")]
    [InlineData(TlsRequirementSource.Operator, "5.7.4 mandatory TLS could not be met within 24h")]
    [InlineData(TlsRequirementSource.DaneRecords, "5.7.4 the TLS authentication the recipient's DANE records require could not be met within 24h")]
    [InlineData(TlsRequirementSource.MtaSts, "5.7.4 the TLS authentication the recipient domain's MTA-STS policy requires could not be met within 24h")]
    public void ATlsWaitFailsWithItsOwnCauseMadePermanent(TlsRequirementSource source, string why)
    {
        var wait = TestOutcomes.TlsWait() with { RequiredTls = new RequiredTls(OutboundTlsLevel.Encrypt, source) };

        var expired = Rules().Expire(Received, wait, Received.AddHours(24))!;

        Assert.Equal((OutcomeReason.Expired, new EnhancedStatus(5, 7, 4)), (expired.Reason, expired.Status));
        Assert.Equal($"{why}; last error: {wait.Text}", expired.Text);
        Assert.Equal((wait.RequiredTls, wait.Host, wait.Address), (expired.RequiredTls, expired.Host, expired.Address));
    }

    [Fact]
    public void TheDelayWarningIsDueOnceAfterDelayWarningAfter()
    {
        var rules = Rules();
        Assert.False(rules.DelayWarningDue(Received, alreadyWarned: false, Received.AddHours(1) - Ms));
        Assert.True(rules.DelayWarningDue(Received, alreadyWarned: false, Received.AddHours(1)));
        Assert.False(rules.DelayWarningDue(Received, alreadyWarned: true, Received.AddHours(3)));
    }
}
