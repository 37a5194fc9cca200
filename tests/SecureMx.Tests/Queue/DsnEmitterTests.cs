using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;

namespace SecureMx.Tests.Queue;

/// <summary>What a DSN says about each recipient comes from its structured outcome.</summary>
public sealed class DsnEmitterTests
{
    private static async Task<HeaderList> EmitOneAsync(QueueRunnerHarness h, DeliveryOutcome outcome, string? serverReply, DsnAction action)
    {
        var id = await h.SendAsync(announce: false);
        var (envelope, recipients) = h.Spool.Queue.Load(id)!.Value;
        var dsn = new DsnEmitter(h.Spool, new RecipientRouter(h.Store.Mailboxes, h.Options.Delivery), h.Options, h.Clock, NullLogger.Instance);
        string? spooled = null;
        dsn.Arrived += dsnId => spooled = dsnId;

        await dsn.EmitAsync(envelope, [new DsnEmitter.Item(recipients[0], outcome, serverReply)], action, null);

        Assert.NotNull(spooled);
        using var data = h.Spool.OpenData(spooled);
        var message = await MimeMessage.LoadAsync(data, TestContext.Current.CancellationToken);
        return Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(message.Body)[1]).StatusGroups[1];
    }

    [Fact]
    public async Task TheStatusFieldIsTheStoredStatusNotTheFirstWordOfTheText()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        var outcome = new DeliveryOutcome(RecipientState.Failed, OutcomeReason.RemoteReply, EnhancedStatus.BadDestinationMailbox,
            "4.4.3 is what this text starts with, but the server said 5.1.1", 550, null, "mx.remote.test", IPAddress.Parse("192.0.2.9"));

        var group = await EmitOneAsync(h, outcome, "550 5.1.1 no such user", DsnAction.Failed);

        Assert.Equal("5.1.1", group["Status"]);
        Assert.Equal("dns; mx.remote.test", group["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 no such user", group["Diagnostic-Code"]);
    }

    [Fact]
    public async Task AnOutcomeWithoutAServerHasNoRemoteMtaOrDiagnostic()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);

        var group = await EmitOneAsync(h, new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Dns, EnhancedStatus.DirectoryServerFailure, "SERVFAIL for remote.test"),
            null, DsnAction.Delayed);

        Assert.Equal("4.4.3", group["Status"]);
        Assert.Null(group["Remote-MTA"]);
        Assert.Null(group["Diagnostic-Code"]);
    }

    [Fact]
    public async Task TheReportOnARequireTlsMessageIsSentWithRequireTlsAndReturnsOnlyTheHeaderEvenUnderRetFull()
    {
        // RFC 8689 §5: the report is protected as the message was, and RET=FULL is disregarded.
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        var id = await h.SendAsync(announce: false);
        var (stored, recipients) = h.Spool.Queue.Load(id)!.Value;
        var dsn = new DsnEmitter(h.Spool, new RecipientRouter(h.Store.Mailboxes, h.Options.Delivery), h.Options, h.Clock, NullLogger.Instance);
        var spooled = new List<string>();
        dsn.Arrived += spooled.Add;
        var failed = new DeliveryOutcome(RecipientState.Failed, OutcomeReason.ServerCapability, EnhancedStatus.RequireTlsNeeded, "REQUIRETLS support required", 550);

        foreach (var requireTls in new[] { true, false })
        {
            var original = stored with { Parameters = stored.Parameters with { Ret = DsnReturn.Full, RequireTls = requireTls } };
            await dsn.EmitAsync(original, [new DsnEmitter.Item(recipients[0], failed)], DsnAction.Failed, null);
        }

        Assert.Equal(2, spooled.Count);
        var (tagged, plain) = (h.Spool.Queue.Load(spooled[0])!.Value.Envelope, h.Spool.Queue.Load(spooled[1])!.Value.Envelope);
        Assert.True(tagged.Parameters.RequireTls);
        Assert.False(plain.Parameters.RequireTls);
        MimeEntity Returned(string dsnId)
        {
            using var data = h.Spool.OpenData(dsnId);
            return Assert.IsType<MultipartReport>(MimeMessage.Load(data).Body)[2];
        }
        Assert.IsType<TextRfc822Headers>(Returned(spooled[0]));
        Assert.DoesNotContain("Hello.", Returned(spooled[0]).ToString());
        Assert.IsType<MessagePart>(Returned(spooled[1])); // the same request without REQUIRETLS returns it whole
    }
}
