using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// The local deliverer with TLS reports: recipients routed to the report address (<see cref="TlsReportAddress.Target"/>)
/// are handed to <see cref="TlsReportIntake"/>, everyone else to the inner deliverer (Maildir or LMTP). A report is
/// delivered once it is read — stored, already stored, or refused (then "discarded" with the reader's log line:
/// never a bounce to the reporter, never tried again); a message larger than tlsReporting.maxReportBytes is discarded
/// unread. Only a store that does not answer defers it (451 4.3.0, tried again after delivery.localRetrySeconds).
/// </summary>
public sealed class TlsReportDeliverer(IDeliverer inner, MessageSpool spool, TlsReportIntake intake, SecureMxOptions options, TimeProvider time, ILogger log) : IDeliverer
{
    public static bool IsReport(QueuedRecipient r) => r.Recipient.Maildir == TlsReportAddress.Target;

    public async Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct)
    {
        var attempts = new List<DeliveryAttempt>();
        var others = recipients.Where(r => !IsReport(r)).ToList();
        if (others.Count > 0) attempts.AddRange(await inner.DeliverAsync(envelope, others, ct));
        foreach (var r in recipients.Where(IsReport))
        {
            if (ct.IsCancellationRequested) break;
            attempts.Add(Deliver(envelope, r));
        }
        return attempts;
    }

    private DeliveryAttempt Deliver(Envelope envelope, QueuedRecipient r)
    {
        var sender = envelope.Sender.Length == 0 ? "<>" : envelope.Sender;
        var max = options.TlsReporting.MaxReportBytes;
        try
        {
            string text;
            if (envelope.Size > max)
            {
                intake.LogRefused(sender, $"{envelope.Size} bytes, more than {max}");
                text = "tls report discarded: too large";
            }
            else
            {
                TlsReportIntakeOutcome outcome;
                using (var data = spool.OpenData(envelope.Id))
                    outcome = intake.FromMessage(data, sender, TlsReportAddress.AddressedDomain(options.TlsReporting, r.Recipient.Address));
                text = outcome.Result switch
                {
                    TlsReportIntakeResult.Stored => "tls report stored",
                    TlsReportIntakeResult.Duplicate => "tls report already stored",
                    _ => "tls report discarded: " + outcome.Reason,
                };
            }
            log.LogInformation("{Id}: to=<{Rcpt}> relay=tlsrpt status=sent ({Text})", envelope.Id, r.Recipient.Address, text);
            var delivered = new DeliveryOutcome(RecipientState.Delivered, OutcomeReason.Local, EnhancedStatus.Ok, text, 250);
            return new DeliveryAttempt(r, delivered, Log(envelope, r, "delivered", delivered));
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex) || ex is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("{Id}: to=<{Rcpt}> relay=tlsrpt status=deferred ({Error})", envelope.Id, r.Recipient.Address, ex.Message);
            var deferred = new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.LocalError,
                $"{EnhancedStatus.LocalError} tls report not stored: {ex.Message}", 451);
            return new DeliveryAttempt(r, deferred, Log(envelope, r, "deferred", deferred), RetryAfter: TimeSpan.FromSeconds(options.Delivery.LocalRetrySeconds));
        }
    }

    private DeliveryLogEntry Log(Envelope e, QueuedRecipient r, string result, DeliveryOutcome o) => new(
        time.GetUtcNow(), e.Id, e.Sender, e.Client.Account, r.Recipient.Address, DeliveryLogEntry.Local, null,
        result, o.ReplyCode, o.Status.ToString(), o.Text, null, null, DeliveryLogEntry.Local);
}
