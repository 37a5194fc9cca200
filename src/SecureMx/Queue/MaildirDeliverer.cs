using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// Delivers hosted recipients into their Maildirs (<see cref="MaildirDelivery"/>), with the trace
/// headers, at most delivery.localConcurrency at once. A write that fails (full disk, permissions, a
/// Maildir in the way) defers the recipient for delivery.localRetrySeconds.
/// </summary>
public sealed class MaildirDeliverer(MessageSpool spool, SecureMxOptions options, string dataDirectory, TimeProvider time, ILogger log) : IDeliverer
{
    private readonly MaildirDelivery _maildir = new(dataDirectory, options.Hostname, time, spool.Files, MailFileAccess.From(options.Delivery)); // the spool's durable-write seam, so a test can fail a Maildir step
    private readonly SemaphoreSlim _slots = new(options.Delivery.LocalConcurrency);

    public async Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct)
    {
        var attempts = new List<DeliveryAttempt>();
        foreach (var r in recipients)
        {
            if (ct.IsCancellationRequested) break;
            if (await DeliverAsync(envelope, r, ct) is { } attempt) attempts.Add(attempt);
        }
        return attempts;
    }

    private async Task<DeliveryAttempt?> DeliverAsync(Envelope envelope, QueuedRecipient r, CancellationToken ct)
    {
        var id = envelope.Id;
        try
        {
            await _slots.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        try
        {
            var hostname = options.HostnameFor(envelope.Client.Listener);
            var headers = TraceHeaders.Build(envelope, r.Recipient.Address, hostname, ReceivedNodeName.For(options));
            // RFC 8601 §5: with our results prepended, fields that claim our authserv-id in the content are forged.
            Func<Stream> open = envelope.AuthenticationResults is null ? () => spool.OpenData(id) : () => new ForgedResultsFilterStream(spool.OpenData(id), hostname);
            var file = await _maildir.DeliverAsync(r.Recipient.Maildir!, headers, open, ct);
            log.LogInformation("{Id}: to=<{Rcpt}> relay=local status=sent (delivered to maildir) file={File}{Auth}", id, r.Recipient.Address, Path.GetFileName(file),
                envelope.AuthenticationResults is { } results ? " " + MailAuth.AuthenticationResultsHeader.SummaryOf(results) : "");
            var delivered = new DeliveryOutcome(RecipientState.Delivered, OutcomeReason.Local, EnhancedStatus.Ok, "delivered to maildir", 250);
            return new DeliveryAttempt(r, delivered, Log(envelope, r, "delivered", delivered));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            log.LogInformation("{Id}: to=<{Rcpt}> relay=local interrupted by shutdown; stays queued", id, r.Recipient.Address);
            return null; // not an attempt: due again at the next start
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("{Id}: to=<{Rcpt}> relay=local status=deferred ({Error})", id, r.Recipient.Address, ex.Message);
            var deferred = new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.MailboxUnavailable,
                $"{EnhancedStatus.MailboxUnavailable} local delivery failed: {ex.Message}", 451);
            return new DeliveryAttempt(r, deferred, Log(envelope, r, "deferred", deferred), RetryAfter: TimeSpan.FromSeconds(options.Delivery.LocalRetrySeconds));
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The delivery log row: host and verification "local", no address, no TLS (nothing crossed a network).</summary>
    private DeliveryLogEntry Log(Envelope e, QueuedRecipient r, string result, DeliveryOutcome o) => new(
        time.GetUtcNow(), e.Id, e.Sender, e.Client.Account, r.Recipient.Address, DeliveryLogEntry.Local, null,
        result, o.ReplyCode, o.Status.ToString(), o.Text, null, null, DeliveryLogEntry.Local);
}
