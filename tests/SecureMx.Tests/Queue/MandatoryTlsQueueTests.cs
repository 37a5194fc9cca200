using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// Mandatory outbound TLS over time (DESIGN.md §1): a sender whose account requires TLS and a
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
            o => o.Delivery.SmtpPort = server.Endpoint.Port);
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
        Assert.True(SecureMx.Queue.TlsWait.IsTlsWait(r.LastError)); // the dashboard recognises the runner's own text
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
        Assert.True(h.Dns.Attempts[^1] >= T0 + TimeSpan.FromHours(24));
    }
}
