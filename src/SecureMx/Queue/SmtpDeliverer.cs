using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// Delivers recipients elsewhere by SMTP (<see cref="RemoteDelivery"/>): one transaction per
/// destination domain, the domains of one message in parallel, each under the sender's effective
/// outbound TLS level (<see cref="OutboundTlsPolicy"/>). At most delivery.remoteConcurrency
/// deliveries run at once and delivery.destinationConcurrency per destination domain, so that one
/// slow domain cannot take every connection.
/// </summary>
public sealed class SmtpDeliverer(MessageSpool spool, RemoteDelivery remote, OutboundTlsPolicy tlsPolicy, DeliveryOptions options, TimeProvider time, ILogger log)
    : IDeliverer
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _perDestination = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _slots = new(options.RemoteConcurrency);

    public async Task<IReadOnlyList<DeliveryAttempt>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, CancellationToken ct)
    {
        var groups = recipients.GroupBy(r => Domain(r.Recipient.Address), StringComparer.OrdinalIgnoreCase);
        var tasks = groups.Select(g => DeliverAsync(envelope, g.Key, g.ToList(), ct)).ToList();
        var attempts = new List<DeliveryAttempt>();
        foreach (var t in tasks) attempts.AddRange(await t);
        return attempts;
    }

    /// <summary>A suspended destination is tried again at once (Postfix's flush of dead destinations).</summary>
    public void RetryRequested() => remote.Unreachable.Clear();

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant();

    private async Task<List<DeliveryAttempt>> DeliverAsync(Envelope envelope, string domain, List<QueuedRecipient> group, CancellationToken ct)
    {
        // None of the destination's hosts could be reached a moment ago: deferred without DNS, policy or
        // connection, and without waiting for a slot behind the attempts still in flight to it.
        if (remote.Unreachable.Find(domain) is { } suspended) return group.Select(r => Suspended(envelope, r, suspended)).ToList();
        var destination = _perDestination.GetOrAdd(domain, _ => new SemaphoreSlim(options.DestinationConcurrency));
        try
        {
            await _slots.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return [];
        }
        try
        {
            await destination.WaitAsync(ct);
            try
            {
                // An attempt this one waited behind may have found the destination unreachable meanwhile.
                if (remote.Unreachable.Find(domain) is { } suspendedMeanwhile) return group.Select(r => Suspended(envelope, r, suspendedMeanwhile)).ToList();
                EffectiveTlsPolicy policy;
                try
                {
                    policy = tlsPolicy.For(envelope.Client.Account, envelope.Sender, domain);
                }
                catch (Exception ex) when (StoreUnavailable.Is(ex))
                {
                    // Without its TLS policy no recipient is sent anywhere: deferred, never sent under a guessed level.
                    return group.Select(r => PolicyUnreadable(envelope, r, ex)).ToList();
                }
                // Read once for the header and the sending alike (one open of the queue database per delivery).
                using var data = new SpooledMessageData(spool, envelope.Id);
                var tlsRequired = await TlsRequiredHeaderForAsync(envelope, domain, policy, data, ct);
                var outcomes = await remote.DeliverAsync(envelope, domain, group, data.Open, ct, policy.Level, policy.UsesDane,
                    ignoreRecipientPolicies: tlsRequired.Honoured);
                return outcomes.Select(o => Attempt(envelope, group.Single(x => x.Index == o.Index), o, policy)).ToList();
            }
            finally
            {
                destination.Release();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return []; // shutdown: not an attempt
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// "TLS-Required: No" (RFC 8689 §4.2.2) for this message and destination, logged when it is there:
    /// honoured (the recipient's DANE and MTA-STS policies ignored) or why not. A header that cannot be
    /// read counts as absent: the recipient's policies then apply, which is never less safe.
    /// </summary>
    private async Task<TlsRequiredHeader.Decision> TlsRequiredHeaderForAsync(Envelope envelope, string domain, EffectiveTlsPolicy policy, SpooledMessageData data, CancellationToken ct)
    {
        TlsRequiredHeader.Decision decision;
        try
        {
            decision = await TlsRequiredHeader.DecideAsync(envelope, policy, data.Open, ct);
        }
        catch (Exception ex) when (ex is IOException or System.Data.Common.DbException)
        {
            log.LogWarning("{Id}: the header could not be read for TLS-Required ({Error}); the recipient's TLS policies apply", envelope.Id, ex.Message);
            return TlsRequiredHeader.Decision.Absent;
        }
        if (decision.Honoured)
            log.LogInformation("{Id}: TLS-Required: No honoured for {Domain}: the recipient's DANE and MTA-STS policies are ignored, TLS is opportunistic", envelope.Id, domain);
        else if (decision.Present)
            log.LogInformation("{Id}: TLS-Required: No not honoured for {Domain}: {Why}", envelope.Id, domain, decision.NotHonoured);
        return decision;
    }

    /// <summary>A deferral without an attempt: the destination is suspended (<see cref="UnreachableDestinations"/>); due again by the retry schedule.</summary>
    private DeliveryAttempt Suspended(Envelope envelope, QueuedRecipient r, UnreachableDestinations.Suspension suspended)
    {
        var text = $"delivery temporarily suspended: {suspended.Reason}";
        log.LogInformation("{Id}: to=<{Rcpt}> relay=none tls=none status=deferred ({Text})", envelope.Id, r.Recipient.Address, text);
        var deferred = new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Connection, EnhancedStatus.NoAnswerFromHost, $"{EnhancedStatus.NoAnswerFromHost} {text}", 451);
        var entry = new DeliveryLogEntry(time.GetUtcNow(), envelope.Id, envelope.Sender, envelope.Client.Account, r.Recipient.Address, null, null,
            "deferred", 451, EnhancedStatus.NoAnswerFromHost.ToString(), text, null, null, TlsVerification.None.Name());
        return new DeliveryAttempt(r, deferred, entry);
    }

    /// <summary>A deferral because the store could not be read for the TLS policy; tried again after the local retry interval.</summary>
    private DeliveryAttempt PolicyUnreadable(Envelope envelope, QueuedRecipient r, Exception error)
    {
        log.LogWarning("{Id}: to=<{Rcpt}> status=deferred (the outbound TLS policy cannot be read from the store: {Error})", envelope.Id, r.Recipient.Address, error.Message);
        var deferred = new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Local, EnhancedStatus.LocalError,
            $"{EnhancedStatus.LocalError} the outbound TLS policy cannot be read from the store: {error.Message}", 451);
        var entry = new DeliveryLogEntry(time.GetUtcNow(), envelope.Id, envelope.Sender, envelope.Client.Account, r.Recipient.Address, null, null,
            "deferred", 451, EnhancedStatus.LocalError.ToString(), deferred.Text, null, null, TlsVerification.None.Name());
        return new DeliveryAttempt(r, deferred, entry, RetryAfter: TimeSpan.FromSeconds(options.LocalRetrySeconds));
    }

    private DeliveryAttempt Attempt(Envelope envelope, QueuedRecipient r, RemoteOutcome o, EffectiveTlsPolicy policy)
    {
        // A TLS wait names the level that was not met and where it came from, for the queue list and the DSN.
        // The recipient domain's MTA-STS policy (enforce) asks at least what any level below dane-only asks
        // (listed MX, strict TLS, PKIX): when it turned the hosts away, it is the recipient's requirement, not the sender's.
        var required = o.RequiredByMtaSts ? policy.Requirement with { Source = TlsRequirementSource.MtaSts } : policy.Requirement;
        // The summary of an MTA-STS wait names the policy already; the sender's level did not decide it.
        var outcome = o.Reason != OutcomeReason.TlsRequirement ? o.ToOutcome()
            : o.RequiredByMtaSts ? o.ToOutcome(required, o.Summary)
            : o.ToOutcome(required, $"{o.Summary} (TLS level {policy})");
        var result = o.State.ToString().ToLowerInvariant();
        // tls=none alone is a server without STARTTLS; a failed handshake before plaintext says so, and weak TLS is marked.
        var tls = o.Tls is null ? (o.TlsFailure is null ? "none" : $"none (starttls-failed: {o.TlsFailure})")
            : o.Tls.IsStrict ? $"{o.Tls.Protocol} {o.Tls.CipherSuite}" : $"{o.Tls.Protocol} {o.Tls.CipherSuite} (weak)";
        log.LogInformation("{Id}: to=<{Rcpt}> relay={Relay} tls={Tls} status={Status} ({Text})", envelope.Id, o.Recipient,
            o.MxHost is null ? "none" : $"{o.MxHost}[{o.Address}]", o.MtaStsFailure is null ? tls : $"{tls} mta-sts-failure=({o.MtaStsFailure})", result, o.Summary);
        var entry = new DeliveryLogEntry(time.GetUtcNow(), envelope.Id, envelope.Sender, envelope.Client.Account, r.Recipient.Address, o.MxHost, o.Address?.ToString(),
            result, o.Code, o.Enhanced.ToString(), o.Text, o.Tls?.Protocol, o.Tls?.CipherSuite, (o.Tls?.Verification ?? TlsVerification.None).Name(),
            o.TlsFailure) { MtaStsFailure = o.MtaStsFailure };
        return new DeliveryAttempt(r, outcome, entry, ServerReply: o.ServerReply, PeerSupportsDsn: o.PeerSupportsDsn);
    }
}
