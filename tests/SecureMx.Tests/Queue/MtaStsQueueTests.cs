using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// A recipient domain's MTA-STS policy (enforce) through the queue: the TLS wait is the recipient's
/// requirement (source mta-sts), not the sender's, even for a sender with mandatory TLS — switching it
/// off would not help — and the delivery log row says what the policy found, in RFC 8460 terms.
/// </summary>
public sealed class MtaStsQueueTests
{
    private sealed class EnforcePolicy : IMtaStsPolicySource
    {
        public Task<MtaStsLookup> GetAsync(string domain, CancellationToken cancellationToken = default) => Task.FromResult(
            new MtaStsLookup(MtaStsLookupKind.Policy, new MtaStsPolicy(MtaStsMode.Enforce, ["mx.other.test"], TimeSpan.FromDays(7)), "abc123", DateTimeOffset.UtcNow.AddDays(7)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnEnforcedPolicyThatNoHostMeetsIsTheRecipientsRequirementInTheWaitAndTheLog(bool senderMandatory)
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.other.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o => o.Delivery.SmtpPort = server.Endpoint.Port, mtaSts: new EnforcePolicy());
        if (senderMandatory) h.Store.Policies.SetMailboxOutboundTls(QueueRunnerHarness.Sender, OutboundTlsSetting.Mandatory, "test");

        var id = await h.SendAsync(recipient: "carol@other.test");

        var r = h.Recipient(id)!;
        Assert.Equal(RecipientState.Deferred, r.State);
        Assert.StartsWith("4.7.4 TLS is required by the MTA-STS policy of other.test (enforce, id abc123), but was not offered by host mx.other.test[127.0.0.1]", r.LastError);
        // The recipient's policy decided, not the sender's level: the wait does not name a level that played no part.
        Assert.DoesNotContain("TLS level", r.LastError);
        var level = senderMandatory ? OutboundTlsLevel.Encrypt : OutboundTlsLevel.Dane; // dane: delivery.defaultTlsLevel
        Assert.Equal((OutcomeReason.TlsRequirement, (RequiredTls?)new RequiredTls(level, TlsRequirementSource.MtaSts)), (r.LastOutcome!.Reason, r.LastOutcome.RequiredTls));
        Assert.False(r.LastOutcome.RequiredTls!.Value.Mandatory);
        var log = h.Store.DeliveryLog.Query("carol@other.test", QueueRunnerHarness.Sender, null, 10).Single();
        Assert.Equal(("deferred", "none"), (log.Result, log.TlsVerification));
        Assert.Equal("starttls-not-supported: mx.other.test[127.0.0.1] does not offer STARTTLS, which the MTA-STS policy of other.test (enforce, id abc123) requires", log.MtaStsFailure);
        Assert.Empty(server.Arrivals.Ids);
    }
}
