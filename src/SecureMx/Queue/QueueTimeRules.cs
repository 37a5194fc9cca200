using SecureMx.Config;
using SecureMx.Mail;

namespace SecureMx.Queue;

/// <summary>
/// The queue's time rules, parsed once from <see cref="QueueOptions"/>: the delay warning
/// (queue.delayWarningAfter), expiry (queue.expireAfter) and the shorter expiry of a recipient that
/// waits only for a server meeting its TLS requirement (queue.tlsExpireAfter), with the retry
/// schedule capped at the expiry so that the last attempt is made when the time runs out and the
/// bounce comes when promised, not at the next scheduled retry. The queue runner, the `queue`
/// commands and the dashboard all read them here.
/// </summary>
public sealed class QueueTimeRules
{
    public QueueTimeRules(QueueOptions options)
    {
        DelayWarningAfter = Duration.Parse(options.DelayWarningAfter, "queue.delayWarningAfter");
        ExpireAfter = Duration.Parse(options.ExpireAfter, "queue.expireAfter");
        TlsExpireAfter = Duration.Parse(options.TlsExpireAfter, "queue.tlsExpireAfter");
        Retry = new RetrySchedule(options);
    }

    public TimeSpan DelayWarningAfter { get; }

    public TimeSpan ExpireAfter { get; }

    public TimeSpan TlsExpireAfter { get; }

    public RetrySchedule Retry { get; }

    /// <summary>
    /// When a pending recipient of a message received at <paramref name="receivedAt"/> gives up: a TLS
    /// wait at tlsExpireAfter, but never later than expireAfter, which ends every wait; any other
    /// recipient (and one not tried yet) at expireAfter.
    /// </summary>
    public DateTimeOffset ExpiresAt(DateTimeOffset receivedAt, DeliveryOutcome? lastOutcome) =>
        receivedAt + (lastOutcome is { IsTlsWait: true } && TlsExpireAfter < ExpireAfter ? TlsExpireAfter : ExpireAfter);

    /// <summary>A deferral at <paramref name="now"/> that ends the recipient's wait.</summary>
    public bool IsExpired(DateTimeOffset receivedAt, DeliveryOutcome outcome, DateTimeOffset now) =>
        outcome.State == RecipientState.Deferred && now >= ExpiresAt(receivedAt, outcome);

    /// <summary>
    /// The failure that replaces a deferral once the wait is over (else null). RFC 3463: a TLS wait
    /// fails with its own cause made permanent (4.7.4 → 5.7.4), anything else with 5.4.7 "delivery
    /// time expired"; the text keeps the last error, which says why it never worked.
    /// </summary>
    public DeliveryOutcome? Expire(DateTimeOffset receivedAt, DeliveryOutcome outcome, DateTimeOffset now)
    {
        if (!IsExpired(receivedAt, outcome, now)) return null;
        var (status, why) = outcome.IsTlsWait && now - receivedAt >= TlsExpireAfter
            ? (outcome.Status.AsPermanent(),
               $"{outcome.RequiredTls switch
               {
                   { Source: TlsRequirementSource.MtaSts } => "the TLS authentication the recipient domain's MTA-STS policy requires",
                   { Mandatory: false } => "the TLS authentication the recipient's DANE records require",
                   _ => "mandatory TLS",
               }} could not be met within {Duration.Format(TlsExpireAfter)}")
            : (EnhancedStatus.DeliveryTimeExpired, $"delivery time expired after {Duration.Format(ExpireAfter)}");
        return outcome with
        {
            State = RecipientState.Failed,
            Reason = OutcomeReason.Expired,
            Status = status,
            Text = $"{status} {why}; last error: {outcome.Text}",
            ReplyCode = 554,
        };
    }

    /// <summary>The one delay DSN is due: still undelivered after delayWarningAfter and not warned yet.</summary>
    public bool DelayWarningDue(DateTimeOffset receivedAt, bool alreadyWarned, DateTimeOffset now) =>
        !alreadyWarned && now - receivedAt >= DelayWarningAfter;

    /// <summary>
    /// When to try a deferred recipient again: after <paramref name="interval"/> when the deliverer
    /// names one (local delivery), else on the retry schedule after <paramref name="attemptsSoFar"/>
    /// failed attempts — never later than its expiry, so that the attempt that fails it is made on time.
    /// </summary>
    public DateTimeOffset NextAttempt(DateTimeOffset receivedAt, DeliveryOutcome outcome, int attemptsSoFar, DateTimeOffset now, TimeSpan? interval, Random random)
    {
        var next = interval is { } fixedInterval ? now + fixedInterval : Retry.NextAttempt(attemptsSoFar, now, random);
        var expiresAt = ExpiresAt(receivedAt, outcome);
        return next > expiresAt ? expiresAt : next;
    }
}
