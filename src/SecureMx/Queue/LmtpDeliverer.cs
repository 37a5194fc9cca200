using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery.Lmtp;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// Delivers hosted recipients through the mailbox server's LMTP service (delivery.lmtp,
/// <see cref="LmtpDelivery"/>): one transaction per message for all its due recipients, at most
/// delivery.localConcurrency connections at once. Each recipient gets the server's own reply: a 2xx
/// delivers, a 5xx bounces it alone (with a DSN), a 4xx — and a server that cannot be reached, breaks
/// off or times out — defers it for delivery.localRetrySeconds.
/// The instance's own postmaster Maildir (DIR/mail/postmaster, when delivery.postmaster is empty)
/// is no mailbox of the mailbox server: its mail still goes to <paramref name="maildir"/>.
/// </summary>
/// <param name="maildir">Delivers what LMTP cannot: the instance's postmaster Maildir.</param>
public sealed class LmtpDeliverer(MessageSpool spool, LmtpDelivery lmtp, IDeliverer maildir, SecureMxOptions options, TimeProvider time, ILogger log) : IDeliverer
{
    private readonly SemaphoreSlim _connections = new(options.Delivery.LocalConcurrency);

    /// <summary>How log lines name this way of delivery (relay=lmtp[TARGET]), as relay=local names a Maildir write.</summary>
    private const string Relay = "lmtp";

    public async Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct)
    {
        var attempts = new List<DeliveryAttempt>();
        var own = recipients.Where(IsInstanceMaildir).ToList();
        if (own.Count > 0) attempts.AddRange(await maildir.DeliverAsync(envelope, own, ct));
        var mailboxes = recipients.Where(r => !IsInstanceMaildir(r)).ToList();
        if (mailboxes.Count > 0) attempts.AddRange(await DeliverByLmtpAsync(envelope, mailboxes, ct));
        return attempts;
    }

    /// <summary>The instance's postmaster Maildir has no account on the mailbox server (RecipientRouter routes postmaster@ there without one).</summary>
    private static bool IsInstanceMaildir(QueuedRecipient r) => r.Recipient.Maildir == RecipientRouter.InstancePostmasterMaildir;

    private async Task<IReadOnlyList<DeliveryAttempt>> DeliverByLmtpAsync(Envelope envelope, List<QueuedRecipient> recipients, CancellationToken ct)
    {
        try
        {
            await _connections.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return [];
        }
        try
        {
            var outcomes = await lmtp.DeliverAsync(envelope, recipients, () => spool.OpenData(envelope.Id), ct);
            if (outcomes.Count < recipients.Count)
            {
                log.LogInformation("{Id}: {Count} recipient(s) interrupted by shutdown before the LMTP server's reply; they stay queued", envelope.Id, recipients.Count - outcomes.Count);
            }
            return outcomes.Select(o => Attempt(envelope, o)).ToList();
        }
        finally
        {
            _connections.Release();
        }
    }

    private DeliveryAttempt Attempt(Envelope envelope, LmtpOutcome o)
    {
        var r = o.Recipient;
        var outcome = o.Outcome;
        var result = outcome.State switch
        {
            RecipientState.Delivered => "delivered",
            RecipientState.Failed => "failed",
            _ => "deferred",
        };
        var status = outcome.State == RecipientState.Delivered ? "sent" : result;
        if (outcome.State == RecipientState.Delivered)
            log.LogInformation("{Id}: to=<{Rcpt}> relay={Relay}[{Target}] status={Status} ({Text}){Auth}", envelope.Id, r.Recipient.Address, Relay, lmtp.Target, status, outcome.Text,
                envelope.AuthenticationResults is { } results ? " " + MailAuth.AuthenticationResultsHeader.SummaryOf(results) : "");
        else
            log.LogWarning("{Id}: to=<{Rcpt}> relay={Relay}[{Target}] status={Status} ({Text})", envelope.Id, r.Recipient.Address, Relay, lmtp.Target, status, outcome.Text);
        // As for a Maildir write: host and verification "local", no address (the mailbox server is part of
        // this instance, not a destination whose TLS the readiness preview counts); the TLS, when used, is kept.
        var entry = new DeliveryLogEntry(time.GetUtcNow(), envelope.Id, envelope.Sender, envelope.Client.Account, r.Recipient.Address, DeliveryLogEntry.Local, null,
            result, outcome.ReplyCode, outcome.Status.ToString(), outcome.Text, o.Tls?.Protocol, o.Tls?.CipherSuite, DeliveryLogEntry.Local);
        var retry = outcome.State == RecipientState.Deferred ? TimeSpan.FromSeconds(options.Delivery.LocalRetrySeconds) : (TimeSpan?)null;
        return new DeliveryAttempt(r, outcome, entry, RetryAfter: retry, ServerReply: o.ServerReply);
    }
}
