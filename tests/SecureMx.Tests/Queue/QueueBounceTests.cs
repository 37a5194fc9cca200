using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>The operator's bounce: the sender hears of it first, then the message leaves the spool whole.</summary>
public sealed class QueueBounceTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(300 * 1024)] // above MessageSpool.InlineLimit: a data file in spool/data
    public async Task BounceSpoolsAFailureDsnThenRemovesEveryRowAndTheData(int size)
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        var id = await h.SendAsync(bodySize: size, announce: false);
        await h.Spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.DnsDeferred(), h.Clock.GetUtcNow().AddHours(1), h.Clock);
        var dsn = new DsnEmitter(h.Spool, new RecipientRouter(h.Store.Mailboxes, h.Options.Delivery), h.Options, h.Clock, NullLogger.Instance);
        string? report = null;
        dsn.Arrived += dsnId => report = dsnId;

        var result = await new QueueBounce(h.Spool, dsn).BounceAsync(id);

        Assert.Equal((id, 1), (result.Envelope?.Id, result.Failed));
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.False(h.HasData(id));
        Assert.Equal([report!], h.Spool.Queue.AllMessageIds());
        using var data = h.Spool.OpenData(report!);
        var message = await MimeMessage.LoadAsync(data, TestContext.Current.CancellationToken);
        var group = Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(message.Body)[1]).StatusGroups[1];
        Assert.Equal(("failed", "5.0.0"), (group["Action"], group["Status"]));
        Assert.Contains("returned to the sender by the mail administrator; last error: 4.4.3 SERVFAIL", System.Text.RegularExpressions.Regex.Replace(message.TextBody ?? "", @"\s+", " "));
    }

    [Fact]
    public async Task AMessageWithoutPendingRecipientsIsLeftAlone()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        var id = await h.SendAsync(announce: false);
        await h.Spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.Failed(), h.Clock.GetUtcNow(), h.Clock);
        var bounce = new QueueBounce(h.Spool, new DsnEmitter(h.Spool, new RecipientRouter(h.Store.Mailboxes, h.Options.Delivery), h.Options, h.Clock, NullLogger.Instance));

        Assert.Equal(0, (await bounce.BounceAsync(id)).Failed);
        Assert.NotNull(h.Spool.Queue.Load(id));
        Assert.Null((await bounce.BounceAsync("0000000000000000")).Envelope);
    }
}
