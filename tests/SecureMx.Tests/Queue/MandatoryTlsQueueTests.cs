using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// Mandatory outbound TLS over time (docs/ARCHITECTURE.md, "The promise"): a sender whose account requires TLS and a
/// receiving server without STARTTLS — deferred, never downgraded; one delay DSN after about an
/// hour; a failure DSN after queue.tlsExpireAfter (24 h) that says why; meanwhile other senders of
/// the same domain deliver to the same server.
/// </summary>
public sealed class MandatoryTlsQueueTests
{
    private static readonly DateTimeOffset T0 = QueueRunnerHarness.Start;

    /// <summary>The DSN text with its line wrapping undone.</summary>
    private static string Flat(string? text) => System.Text.RegularExpressions.Regex.Replace(text ?? "", @"\s+", " ");

    [Fact]
    public async Task MandatoryAccountIsDeferredWarnedAfterAnHourAndBouncedAfter24HoursWhileItsColleagueDelivers()
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.other.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o =>
            {
                o.Delivery.SmtpPort = server.Endpoint.Port;
                // Retries at whole minutes, as the test's exact times assume: with the default jitter an attempt's odd
                // milliseconds carry into the scheduler's 5 s looks, and a look less than 200 ms (its shortest wait)
                // before the 24 hours arms its timer after them (seen once in several runs: the harness timed out
                // with the message due and the scheduler's timer 48 ms later).
                o.Queue.RetryJitter = 0;
            });
        h.Store.Policies.SetMailboxOutboundTls(QueueRunnerHarness.Sender, OutboundTlsSetting.Mandatory, "test");
        h.Store.Mailboxes.AddMailbox("bob", "example.test", "x");

        var mandatory = await h.SendAsync(recipient: "carol@other.test");
        var colleague = await h.SendAsync(sender: "bob@example.test", recipient: "carol@other.test");

        Assert.Null(h.Spool.Queue.Load(colleague)); // delivered in plaintext: bob has no mandatory TLS
        Assert.Single(server.Arrivals.Ids);
        var r = h.Recipient(mandatory)!;
        Assert.Equal(RecipientState.Deferred, r.State);
        Assert.StartsWith("4.7.4 TLS is required, but was not offered by host mx.other.test[127.0.0.1]", r.LastError);
        Assert.Contains("encrypt (from sender account alice@example.test)", r.LastError);
        // The dashboard and the time rules know the wait by its stored reason and requirement, not by its text.
        Assert.Equal((OutcomeReason.TlsRequirement, EnhancedStatus.SecurityNotSupported, (RequiredTls?)new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Sender), "mx.other.test[127.0.0.1]"),
            (r.LastOutcome!.Reason, r.LastOutcome.Status, r.LastOutcome.RequiredTls, r.LastOutcome.HostTried));
        Assert.True(r.LastOutcome.IsTlsWait);
        var log = h.Store.DeliveryLog.Query("carol@other.test", QueueRunnerHarness.Sender, null, 10).Single();
        Assert.Equal(("deferred", "4.7.4", "none", "mx.other.test", "127.0.0.1"), (log.Result, log.Enhanced, log.TlsVerification, log.MxHost, log.Ip));

        await h.RunUntilAsync(T0 + TimeSpan.FromHours(2));
        var delay = Assert.Single(h.Dsns());
        Assert.Equal(("delayed", "4.7.4"), (delay.Action, delay.Status));
        Assert.Equal(T0 + TimeSpan.FromHours(24), delay.Date("Will-Retry-Until"));
        Assert.Contains("About TLS", Flat(delay.Message.TextBody));
        Assert.Contains("switch mandatory TLS off for your account or domain", Flat(delay.Message.TextBody));

        await h.RunUntilAsync(T0 + TimeSpan.FromHours(26));
        Assert.Null(h.Spool.Queue.Load(mandatory));
        var failed = Assert.Single(h.Dsns(), d => d.Action == "failed");
        Assert.Equal("5.7.4", failed.Status);
        Assert.Contains("mandatory TLS could not be met within", Flat(failed.Message.TextBody));
        Assert.Contains("was not offered by host mx.other.test", Flat(failed.Message.TextBody));
        Assert.Contains("About TLS", Flat(failed.Message.TextBody));
        Assert.Single(server.Arrivals.Ids); // never sent in plaintext
        // The last attempt is made when the 24 hours are up, not at the next hourly retry after them.
        Assert.Equal(T0 + TimeSpan.FromHours(24), h.Dns.Attempts[^1]);
        Assert.Equal(T0 + TimeSpan.FromHours(24), failed.Date("Last-Attempt-Date"));
    }

    [Fact]
    public async Task HourlyRetriesOfATlsWaitEndWithALastAttemptExactlyAtTlsExpireAfter()
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.other.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o =>
            {
                o.Delivery.SmtpPort = server.Endpoint.Port;
                o.Queue.RetryJitter = 0;
            });
        h.Store.Policies.SetMailboxOutboundTls(QueueRunnerHarness.Sender, OutboundTlsSetting.Mandatory, "test");
        var id = await h.SendAsync(recipient: "carol@other.test");

        await h.RunUntilAsync(T0 + TimeSpan.FromHours(26));

        // 0, 5, 15, 35 minutes, then hourly from 75 to 1395 (23h15m); the next would be 24h15m. The last is at 24h.
        double[] minutes = [0, 5, 15, 35, .. Enumerable.Range(0, 23).Select(i => 75.0 + 60 * i), 1440];
        Assert.Equal(minutes.Select(m => T0 + TimeSpan.FromMinutes(m)), h.Dns.Attempts);
        Assert.Null(h.Spool.Queue.Load(id));
        var failed = Assert.Single(h.Dsns(), d => d.Action == "failed");
        Assert.Equal("5.7.4", failed.Status);
        Assert.Equal(T0 + TimeSpan.FromHours(24), failed.Date("Last-Attempt-Date"));
        var last = h.Store.DeliveryLog.Query("carol@other.test", null, null, 100)[^1];
        Assert.Equal(("failed", "5.7.4", T0 + TimeSpan.FromHours(24)), (last.Result, last.Enhanced, last.At));
        Assert.Empty(server.Arrivals.Ids);
    }
}
