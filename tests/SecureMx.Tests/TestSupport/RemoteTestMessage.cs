using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// The one message the remote-delivery tests send: sender@sender.test to alice@example.org, three short
/// lines, received from <c>client.test</c> over the MX listener, delivered to example.org by <see cref="RemoteDelivery"/>.
/// </summary>
public static class RemoteTestMessage
{
    public const string Recipient = "alice@example.org";

    public static async Task<RemoteOutcome> DeliverAsync(RemoteDelivery remote, OutboundTlsLevel level = OutboundTlsLevel.May, bool useDane = true,
        string clientIp = "192.0.2.1", string clientHelo = "client.test")
    {
        var envelope = new Envelope(MessageId.New(TimeProvider.System), DateTimeOffset.UtcNow, "sender@sender.test", 40,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            new ClientTrace("mx", clientIp, clientHelo, "ESMTP", null, null), []);
        var rcpt = new EnvelopeRecipient(Recipient, Recipient, RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null);
        var queued = new QueuedRecipient(envelope.Id, 0, rcpt, RecipientState.Queued, 0, DateTimeOffset.UtcNow, null);
        var body = "From: sender@sender.test\r\nSubject: t\r\n\r\nhello\r\n"u8.ToArray();
        var outcomes = await remote.DeliverAsync(envelope, "example.org", [queued], () => new MemoryStream(body), TestContext.Current.CancellationToken, level, useDane);
        return Assert.Single(outcomes);
    }
}
