using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SecureMx.Dns;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// The queue writes each DSN in the language of the hosted sender's mailbox, looked up when the DSN is
/// made (a change applies to the next DSN); English for a sender that never chose and for one not hosted here.
/// </summary>
public sealed class DsnLanguageQueueTests
{
    private const string Alice = QueueRunnerHarness.Sender;

    private static string Flat(MimeMessage m) => System.Text.RegularExpressions.Regex.Replace(m.TextBody ?? "", @"\s+", " ");

    private static HeaderList StatusGroup(MimeMessage m) => Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(m.Body)[1]).StatusGroups[1];

    private static string? TextLanguage(MimeMessage m) => Assert.IsType<TextPart>(Assert.IsType<MultipartReport>(m.Body)[0]).Headers[HeaderId.ContentLanguage];

    [Fact]
    public async Task AGermanAccountsBounceIsGermanAndItsReportUnchanged()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);
        h.Store.Mailboxes.SetMailboxLanguage(Alice, MailLanguage.German);

        var id = await h.SendAsync();

        var dsn = Assert.Single(h.Dsns());
        Assert.Equal($"Unzustellbar: queue test {id}", dsn.Message.Subject);
        Assert.Equal("de", TextLanguage(dsn.Message));
        Assert.Contains("Grund: Die Domain des Empfängers existiert nicht oder nimmt keine E-Mails an (Status 5.1.2).", Flat(dsn.Message), StringComparison.Ordinal);
        Assert.Equal(("failed", "5.1.2"), (dsn.Action, dsn.Status));
        Assert.Equal($"rfc822; {QueueRunnerHarness.RemoteRecipient}", dsn.Recipient["Final-Recipient"]);
    }

    [Fact]
    public async Task AnAccountThatNeverChoseGetsItsBounceInEnglish()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(FakeMailDns.NxDomain);

        await h.SendAsync();

        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("Delivery Status Notification (Failure)", dsn.Message.Subject);
        Assert.Equal("en", TextLanguage(dsn.Message));
        Assert.Contains("Your message could not be delivered", Flat(dsn.Message), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGermanAccountsDelayWarningIsGermanAndTheChoiceAppliesToTheNextDsn()
    {
        await using var h = await QueueRunnerHarness.CreateAsync();   // SERVFAIL: deferred, warned after an hour
        var id = await h.SendAsync();
        h.Store.Mailboxes.SetMailboxLanguage(Alice, MailLanguage.German);   // chosen while the message waits

        await h.RunForAsync(TimeSpan.FromMinutes(91));

        var dsn = Assert.Single(h.Dsns());
        Assert.Equal("delayed", dsn.Action);
        Assert.Equal($"Zustellung verzögert: queue test {id}", dsn.Message.Subject);
        var text = Flat(dsn.Message);
        Assert.Contains("Die Domain des Empfängers konnte im DNS nicht nachgeschlagen werden (Status 4.4.3)", text, StringComparison.Ordinal);
        Assert.Contains("Technische Angabe: 4.4.3 DNS lookup of MX for remote.test failed: SERVFAIL", text, StringComparison.Ordinal);
        Assert.Contains("SecureMx versucht es weiter bis 07.03.2026 09:00:00 UTC", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOperatorsBounceTellsAGermanAccountThatTheAdministratorReturnedIt()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        h.Store.Mailboxes.SetMailboxLanguage(Alice, MailLanguage.German);
        var id = await h.SendAsync(announce: false);
        await h.Spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.DnsDeferred(), h.Clock.GetUtcNow().AddHours(1), h.Clock);
        var (dsn, spooled) = Emitter(h);

        await new QueueBounce(h.Spool, dsn).BounceAsync(id);

        var message = Spooled(h, spooled());
        Assert.Equal($"Unzustellbar: queue test {id}", message.Subject);
        Assert.Contains("Grund: Der Mailadministrator hat die Nachricht an Sie zurückgeschickt (Status 5.0.0).", Flat(message), StringComparison.Ordinal);
        Assert.Equal(("failed", "5.0.0"), (StatusGroup(message)["Action"], StatusGroup(message)["Status"]));
    }

    [Fact]
    public async Task ASenderNotHostedHereGetsEnglishWhateverAHostedMailboxChose()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(start: false);
        h.Store.Mailboxes.SetMailboxLanguage(Alice, MailLanguage.German);
        var id = await h.SendAsync(sender: "someone@remote.test", announce: false);
        var (envelope, recipients) = h.Spool.Queue.Load(id)!.Value;
        var (dsn, spooled) = Emitter(h);

        await dsn.EmitAsync(envelope, [new DsnEmitter.Item(recipients[0], TestOutcomes.Failed(), "550 5.1.1 no such user")], DsnAction.Failed, null);

        var message = Spooled(h, spooled());
        Assert.Equal("Delivery Status Notification (Failure)", message.Subject);
        Assert.Equal(RecipientRoute.Remote, h.Spool.Queue.Load(spooled())!.Value.Recipients.Single().Recipient.Route);
    }

    private static (DsnEmitter Emitter, Func<string> Spooled) Emitter(QueueRunnerHarness h)
    {
        var emitter = new DsnEmitter(h.Spool, new RecipientRouter(h.Store.Mailboxes, h.Options.Delivery), h.Options, h.Clock, NullLogger.Instance);
        string? id = null;
        emitter.Arrived += x => id = x;
        return (emitter, () => id ?? throw new InvalidOperationException("no DSN was spooled"));
    }

    private static MimeMessage Spooled(QueueRunnerHarness h, string id)
    {
        using var data = h.Spool.OpenData(id);
        return MimeMessage.Load(data);
    }
}
