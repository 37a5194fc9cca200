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
}
