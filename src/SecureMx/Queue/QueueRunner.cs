using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Queue;

/// <summary>
/// Delivers what the spool holds. New messages arrive through <see cref="MessageArrived"/>; a
/// scheduler finds recipients whose retry time has come (and, at start-up, everything that was
/// acknowledged before a crash). Local recipients go to the local deliverer (Maildirs), the others
/// to the remote one (SMTP); every attempt is written to the delivery log; the time rules
/// (<see cref="QueueTimeRules"/>) decide retries, expiry and the delay warning; senders hear about
/// failures, long delays and (when asked) successes through DSNs (<see cref="DsnEmitter"/>).
/// A message leaves the queue (<see cref="MessageSpool.RemoveAsync"/>) only when every recipient is final.
/// </summary>
public sealed class QueueRunner : BackgroundService, IMessageArrivalSink
{
    private readonly MessageSpool _spool;
    private readonly DeliveryLogRepository _deliveryLog;
    private readonly IDeliverer _local;
    private readonly IDeliverer _remote;
    private readonly DsnEmitter _dsn;
    private readonly SecureMxOptions _options;
    private QueueTimeRules _rules;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueRunner> _log;
    // Two pools: local deliveries are short and must not wait behind slow remote servers, and a
    // crowd of idle workers on the local path measurably slowed reception (bench/; each of them was
    // woken for every message then, see ChannelWorkers). The local pool
    // takes ids; a message with remote recipients goes on to the remote pool as it was loaded, so
    // that each delivery run reads it from the database once.
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Channel<LoadedMessage> _remoteWork = Channel.CreateUnbounded<LoadedMessage>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ConcurrentDictionary<string, byte> _inFlight = new();
    private readonly SemaphoreSlim _kick = new(0, 1); // one pending wake-up is enough
    private readonly UnsavedOutcomes _unsaved = new();
    private readonly FailedRunHolds _failedRuns = new();
    private readonly FailureRunLog _writeFailures;
    private readonly FailureRunLog _lookFailures;
    /// <summary>The wake signal's token at the last look (<see cref="QueueWakeSignal"/>): a new one is a `queue retry`.</summary>
    private string? _retryToken;

    /// <summary>A message as one delivery run read it: its envelope and every recipient row.</summary>
    private sealed record LoadedMessage(Envelope Envelope, List<QueuedRecipient> Recipients);

    /// <param name="recipients">Routes the DSNs to their senders.</param>
    /// <param name="local">Delivers recipients routed to a hosted mailbox (with a Maildir).</param>
    /// <param name="remote">Delivers every other recipient.</param>
    public QueueRunner(MessageSpool spool, DeliveryLogRepository deliveryLog, RecipientRouter recipients, IDeliverer local, IDeliverer remote,
        SecureMxOptions options, TimeProvider time, ILogger<QueueRunner> log)
    {
        _spool = spool;
        _deliveryLog = deliveryLog;
        _local = local;
        _remote = remote;
        _options = options;
        _time = time;
        _log = log;
        _rules = new QueueTimeRules(options.Queue);
        _writeFailures = new FailureRunLog(log, "recording delivery outcomes in the queue database");
        _lookFailures = new FailureRunLog(log, "looking for due mail in the queue database");
        _dsn = new DsnEmitter(spool, recipients, options, time, log);
        _dsn.Arrived += MessageArrived;
    }

    /// <summary>
    /// The time rules (queue.*) outcomes are judged by from now on; a reload (SIGHUP) replaces them
    /// as a whole. Recipients already waiting keep their next attempt time until they are tried again.
    /// </summary>
    public QueueTimeRules TimeRules
    {
        get => Volatile.Read(ref _rules);
        set => Volatile.Write(ref _rules, value);
    }

    public void MessageArrived(string messageId)
    {
        if (_inFlight.TryAdd(messageId, 0)) _work.Writer.TryWrite(messageId);
    }

    /// <summary>Asks the scheduler to look for due recipients now (e.g. after an operator's retry).</summary>
    public void Kick()
    {
        try { _kick.Release(); }
        catch (SemaphoreFullException) { } // already woken
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = Enumerable.Range(0, _options.Delivery.LocalConcurrency).Select(_ => LocalWorkerAsync(stoppingToken))
            .Concat(Enumerable.Range(0, _options.Delivery.RemoteConcurrency).Select(_ => RemoteWorkerAsync(stoppingToken)))
            .ToList();
        // `securemx queue retry` in another process wakes the scheduler at once, not at its next poll.
        _retryToken = QueueWakeSignal.Token(_spool.Root);
        using var wake = QueueWakeSignal.Watch(_spool.Root, () =>
        {
            _remote.RetryRequested();
            Kick();
        });
        try
        {
            await SchedulerAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        _work.Writer.TryComplete();
        _remoteWork.Writer.TryComplete();
        await Task.WhenAll(workers);
        _deliveryLog.Flush();
    }

    private async Task SchedulerAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = LookForDueMail();
                _lookFailures.Succeeded();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // A queue database that cannot be read now (an I/O error, a lock held past the busy timeout)
                // costs this look, not the server (the listeners go on accepting); the next look is in a few seconds.
                _lookFailures.Failed(ex, "looking for due mail in the queue database failed ({Error}); the next look is in {Seconds} s",
                    ex.Message, SchedulerLongestWait.TotalSeconds);
                wait = SchedulerLongestWait;
            }
            using var delay = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var timer = Task.Delay(wait, _time, delay.Token);
            var kicked = _kick.WaitAsync(delay.Token);
            await Task.WhenAny(timer, kicked);
            delay.Cancel();
            try { await Task.WhenAll(timer, kicked); } catch (OperationCanceledException) { }
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>One look of the scheduler: dispatches the due messages; returns how long to wait for the next look.</summary>
    private TimeSpan LookForDueMail()
    {
        var now = _time.GetUtcNow();
        int dispatched = 0, held = 0;
        ForgetReleasedMessagesThatLeftTheQueue(now);
        // Held messages are among the due ones the database names: ask for as many more, so that they never crowd out the rest.
        var due = _spool.Queue.SomeDueMessageIds(now, DueBatchSize + _unsaved.Count + _failedRuns.Count);
        // Read after the due mail: a `queue retry` whose due times it holds wrote its token before them (QueueWakeSignal),
        // so its suspensions end here, before its mail reaches a worker, whenever the watcher's event comes.
        if (QueueWakeSignal.Token(_spool.Root) is { } token && token != _retryToken)
        {
            _retryToken = token;
            _remote.RetryRequested();
        }
        foreach (var id in due)
        {
            // Its outcome could not be written, or its last run failed: the database's due time is stale, the one in memory counts.
            if (_unsaved.IsHeld(id, now) || _failedRuns.IsHeld(id, now)) held++;
            else
            {
                dispatched++;
                MessageArrived(id);
            }
        }
        var next = _spool.Queue.NextDueTime();
        // What the database says is due is held in memory: wake when the first hold ends, not every 200 ms.
        if (next <= now && held > 0 && dispatched == 0 && EarliestRelease(_unsaved.EarliestRelease(now), _failedRuns.EarliestRelease(now)) is { } release) next = release;
        var wait = next is null ? TimeSpan.FromMinutes(1) : next.Value - _time.GetUtcNow();
        if (wait < TimeSpan.FromMilliseconds(200)) wait = TimeSpan.FromMilliseconds(200);
        // Look again at least every few seconds: `securemx queue retry` changes due times from another process.
        return wait > SchedulerLongestWait ? SchedulerLongestWait : wait;
    }

    private static DateTimeOffset? EarliestRelease(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// A message deleted or bounced by the operator (another process) while held in memory (its outcomes
    /// unwritten, or after a failed run) is never due again, so no worker would drop its note: once its
    /// hold has ended, a note whose message has left the queue goes.
    /// </summary>
    private void ForgetReleasedMessagesThatLeftTheQueue(DateTimeOffset now)
    {
        if (_unsaved.Count > 0) ForgetThoseThatLeftTheQueue(_unsaved.Released(now), _unsaved.Forget);
        if (_failedRuns.Count > 0) ForgetThoseThatLeftTheQueue(_failedRuns.Released(now), id => _failedRuns.Forget(id));
    }

    private void ForgetThoseThatLeftTheQueue(List<string> released, Action<string> forget)
    {
        foreach (var id in released)
        {
            if (!_inFlight.ContainsKey(id) && !_spool.Queue.Contains(id)) forget(id);
        }
    }

    /// <summary>
    /// A delivery run that ended with an unexpected error: the message waits delivery.localRetrySeconds
    /// (<see cref="FailedRunHolds"/>) instead of being started again at the scheduler's next look.
    /// </summary>
    private void HoldAfterFailedRun(string id, Exception error)
    {
        var retry = TimeSpan.FromSeconds(_options.Delivery.LocalRetrySeconds);
        int failures = _failedRuns.HoldAfterFailure(id, _time.GetUtcNow() + retry);
        // The stack trace with the first failure of a message; it says nothing new the next time.
        if (failures == 1) _log.LogError(error, "{Id}: delivery run failed ({Error}); tried again in {Seconds} s", id, error.Message, retry.TotalSeconds);
        else _log.LogError("{Id}: delivery run failed ({Error}); failure {Count} in a row, tried again in {Seconds} s", id, error.Message, failures, retry.TotalSeconds);
    }

    /// <summary>A delivery run that ended without an unexpected error (whatever its outcomes).</summary>
    private void RunCompleted(string id)
    {
        if (_failedRuns.Forget(id) is > 0 and var failures) _log.LogInformation("{Id}: delivery run completed after {Count} failed run(s)", id, failures);
    }

    /// <summary>Loads each message once; delivers it when all its due recipients are local, else hands it to the remote pool.</summary>
    private async Task LocalWorkerAsync(CancellationToken ct)
    {
        await foreach (var id in _work.Reader.TakeEachAsync())
        {
            bool handedOver = false;
            try
            {
                if (ct.IsCancellationRequested) continue;
                if (_spool.Queue.Load(id) is { } loaded)
                {
                    var message = new LoadedMessage(loaded.Envelope, _unsaved.Overlay(id, loaded.Recipients));
                    // Still in flight: the remote worker delivers all of it, local recipients included.
                    if (Due(message).Any(r => !IsLocal(r))) handedOver = _remoteWork.Writer.TryWrite(message);
                    else
                    {
                        await RunAsync(message, ct);
                        RunCompleted(id);
                    }
                }
                else
                {
                    _unsaved.Forget(id); // deleted or bounced by the operator meanwhile: nothing left to write
                    _failedRuns.Forget(id);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                // A cancellation that is not the shutdown's (a timeout inside a library) is a failed run like any other.
                HoldAfterFailedRun(id, ex);
            }
            finally
            {
                if (!handedOver) _inFlight.TryRemove(id, out _);
            }
        }
    }

    private async Task RemoteWorkerAsync(CancellationToken ct)
    {
        await foreach (var message in _remoteWork.Reader.TakeEachAsync())
        {
            var id = message.Envelope.Id;
            try
            {
                // The message may have waited in this pool's backlog while an operator deleted or bounced
                // it from another process (`securemx queue delete|bounce`): never deliver a removed message.
                if (!ct.IsCancellationRequested && _spool.Queue.Contains(id))
                {
                    await RunAsync(message, ct);
                    RunCompleted(id);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                // A cancellation that is not the shutdown's (a timeout inside a library) is a failed run like any other.
                HoldAfterFailedRun(id, ex);
            }
            finally
            {
                _inFlight.TryRemove(id, out _);
            }
        }
    }

    /// <summary>Pending recipients whose time has come.</summary>
    private List<QueuedRecipient> Due(LoadedMessage message)
    {
        var now = _time.GetUtcNow();
        return message.Recipients.Where(r => r.State is RecipientState.Queued or RecipientState.Deferred && r.NextAttemptAt <= now).ToList();
    }

    private static bool IsLocal(QueuedRecipient r) => r.Recipient.Route == RecipientRoute.Local && r.Recipient.Maildir is not null;

    /// <summary>
    /// One delivery run for a message: every due recipient tried once, the results written back in one
    /// commit — with the outcomes of earlier runs that could not be written (<see cref="UnsavedOutcomes"/>).
    /// </summary>
    private async Task RunAsync(LoadedMessage message, CancellationToken ct)
    {
        var (envelope, recipients) = (message.Envelope, message.Recipients);
        var due = Due(message);
        bool unsaved = _unsaved.Contains(envelope.Id);
        if (due.Count == 0 && !unsaved) return;
        var attempts = new List<DeliveryAttempt>();
        var local = due.Where(IsLocal).ToList();
        if (local.Count > 0) attempts.AddRange(await _local.DeliverAsync(envelope, local, ct));
        var remote = due.Where(r => !IsLocal(r)).ToList();
        if (remote.Count > 0) attempts.AddRange(await _remote.DeliverAsync(envelope, remote, ct));
        if (attempts.Count == 0 && !unsaved) return; // interrupted by shutdown before anything happened

        var now = _time.GetUtcNow();
        var rules = TimeRules; // one set of rules for the whole outcome, even if a reload replaces them meanwhile
        var updates = new List<RecipientUpdate>();
        var logRows = new List<DeliveryLogEntry>();
        var failed = new List<DsnEmitter.Item>();
        var delayed = new List<DsnEmitter.Item>();
        var succeeded = new List<DsnEmitter.Item>();
        foreach (var attempt in attempts)
        {
            var r = attempt.Recipient;
            var outcome = attempt.Outcome;
            var log = attempt.Log;
            if (rules.Expire(envelope.ReceivedAt, outcome, now) is { } expired)
            {
                outcome = expired;
                log = log with { Result = "failed", Code = expired.ReplyCode, Enhanced = expired.Status.ToString(), Text = expired.Text };
                _log.LogInformation("{Id}: to=<{Rcpt}> status=expired ({Error})", envelope.Id, r.Recipient.Address, expired.Text);
            }
            logRows.Add(log);
            SecureMxMetrics.DeliveryAttempts.Add(1, new("result", ResultLabel(outcome.State)), new("tls", TlsLabel(log)));
            var item = new DsnEmitter.Item(r, outcome, attempt.ServerReply);
            bool warn = outcome.State == RecipientState.Deferred && rules.DelayWarningDue(envelope.ReceivedAt, r.DelayWarned, now);
            if (outcome.State == RecipientState.Failed) failed.Add(item);
            else if (warn) delayed.Add(item);
            else if (outcome.State == RecipientState.Delivered && r.Recipient.Notify.HasFlag(DsnNotify.Success) && !attempt.PeerSupportsDsn) succeeded.Add(item);
            var next = outcome.State == RecipientState.Deferred
                ? rules.NextAttempt(envelope.ReceivedAt, outcome, r.Attempts + 1, now, attempt.RetryAfter, Random.Shared)
                : now;
            updates.Add(new RecipientUpdate(r.Index, outcome, next, DelayWarned: warn));
        }

        _deliveryLog.Append(logRows); // write-behind: never waits for (or fails on) the database

        // DSNs are spooled before the recipients' new state is committed: after a crash in between, the
        // sender may get a report twice, never not at all. A DSN the spool does not take (a full disk)
        // stops the commit: it waits in memory with this run's outcomes and is tried first in the next run
        // (without delivering again); should the process end before, the database's older state stands
        // and the recipient is tried again, which makes the report again.
        var dsns = new List<DsnEmitter.Batch> { new(DsnAction.Failed, failed) };
        foreach (var tlsWait in new[] { false, true })
        {
            var group = delayed.Where(x => x.Outcome.IsTlsWait == tlsWait).ToList();
            if (group.Count > 0) dsns.Add(new(DsnAction.Delayed, group, rules.ExpiresAt(envelope.ReceivedAt, group[0].Outcome)));
        }
        dsns.Add(new(succeeded.Any(x => x.Outcome.Reason != OutcomeReason.Local) ? DsnAction.Relayed : DsnAction.Delivered, succeeded));
        var unsent = new List<DsnEmitter.Batch>();
        foreach (var dsn in _unsaved.UnsentDsns(envelope.Id).Concat(dsns).Where(d => d.Items.Count > 0))
        {
            if (!await _dsn.EmitAsync(envelope, dsn)) unsent.Add(dsn);
        }

        var writes = _unsaved.Merge(envelope.Id, updates);
        var states = recipients.ToDictionary(r => r.Index, r => (r.State, r.NextAttemptAt));
        foreach (var u in writes) states[u.Index] = (u.Outcome.State, u.NextAttemptAt);
        bool allFinal = states.Values.All(s => s.State is RecipientState.Delivered or RecipientState.Failed);
        Exception? writeFailure = null;
        if (unsent.Count == 0)
        {
            try
            {
                // Every recipient final: one commit removes the message (a crash before it means a duplicate, never a loss).
                // Neither waits for an fsync: a power failure that undoes it means the same duplicate (QueueDatabase).
                if (allFinal) await _spool.RemoveAsync(envelope.Id, synced: false);
                else await _spool.Queue.UpdateRecipientsAsync(envelope.Id, writes, _time, synced: false);
                _unsaved.Forget(envelope.Id);
                _writeFailures.Succeeded();
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or UnauthorizedAccessException)
            {
                writeFailure = ex;
            }
        }
        if (unsent.Count > 0 || writeFailure is not null)
        {
            // The database still says "due now": without a note in memory the scheduler would deliver the
            // message again within 200 ms, and again (a hot loop on a full disk). The note keeps it until
            // its next attempt is due, and the write is tried again then, at the latest after the local retry interval.
            var pending = states.Values.Where(s => s.State is RecipientState.Queued or RecipientState.Deferred).Select(s => s.NextAttemptAt);
            var heldUntil = pending.Append(now + TimeSpan.FromSeconds(_options.Delivery.LocalRetrySeconds)).Min();
            if (heldUntil < now + MinimumHold) heldUntil = now + MinimumHold;
            _unsaved.Keep(envelope.Id, writes, heldUntil, unsent);
            if (writeFailure is not null)
            {
                _writeFailures.Failed(writeFailure, "{Id}: {Problem}: the outcome of {Count} recipient(s) could not be written to the queue database ({Error}); kept in memory, next attempt at {Next:O}",
                    envelope.Id, StorageFailure.IsDiskFull(writeFailure) ? "disk full" : "storage failed", writes.Count, writeFailure.Message, heldUntil);
            }
            else
            {
                _log.LogWarning("{Id}: {Count} DSN(s) could not be spooled; the outcome of {Recipients} recipient(s) is kept in memory until they are, next attempt at {Next:O}",
                    envelope.Id, unsent.Count, writes.Count, heldUntil);
            }
        }
        // The scheduler may be asleep for up to 5 s: tell it about a due time within that. Not about a later one: it
        // looks again before then anyway, and a kick per deferral kept it querying non-stop while a dead
        // destination's backlog was retried (bench/: thousands of deferrals a second).
        if (!allFinal && writes.Any(u => u.Outcome.State == RecipientState.Deferred && u.NextAttemptAt < now + SchedulerLongestWait)) Kick();
    }

    /// <summary>The <c>result</c> tag of <see cref="SecureMxMetrics.DeliveryAttempts"/>.</summary>
    internal static string ResultLabel(RecipientState state) => state switch
    {
        RecipientState.Delivered => "delivered",
        RecipientState.Failed => "failed",
        _ => "deferred",
    };

    /// <summary>The <c>tls</c> tag of <see cref="SecureMxMetrics.DeliveryAttempts"/>: local, starttls-failed, or the session's verification (none, encrypted, dane, verified).</summary>
    internal static string TlsLabel(DeliveryLogEntry log) =>
        log.IsLocal ? DeliveryLogEntry.Local : log.TlsFailure is not null ? "starttls-failed" : log.TlsVerification;

    /// <summary>The longest the scheduler sleeps before it looks at the queue again.</summary>
    private static readonly TimeSpan SchedulerLongestWait = TimeSpan.FromSeconds(5);

    /// <summary>The shortest wait after an outcome that could not be written (a recipient due at once must not make a hot loop either).</summary>
    private static readonly TimeSpan MinimumHold = TimeSpan.FromSeconds(1);

    /// <summary>How many due messages the scheduler dispatches per look (besides those held in memory).</summary>
    internal int DueBatchSize { get; set; } = 1000;

    /// <summary>Messages whose last outcomes are only in memory (the queue database did not take them).</summary>
    internal int UnsavedMessages => _unsaved.Count;
    internal int HeldAfterFailedRuns => _failedRuns.Count;
}
