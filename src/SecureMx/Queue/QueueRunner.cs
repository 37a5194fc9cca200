using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// Delivers what the spool holds. New messages arrive through <see cref="MessageArrived"/>; a
/// scheduler finds recipients whose retry time has come (and, at start-up, everything that was
/// acknowledged before a crash). Local recipients go to Maildirs, remote ones through
/// <see cref="RemoteDelivery"/>; every attempt is written to the delivery log; senders hear about
/// failures, long delays and (when asked) successes through DSNs (<see cref="DsnEmitter"/>).
/// A message leaves the queue only when every recipient is final.
/// </summary>
public sealed class QueueRunner : BackgroundService, IMessageArrivalSink
{
    private readonly MessageSpool _spool;
    private readonly DeliveryLogRepository _deliveryLog;
    private readonly MaildirDelivery _maildir;
    private readonly RemoteDelivery _remote;
    private readonly DsnEmitter _dsn;
    private readonly SecureMxOptions _options;
    private readonly RetrySchedule _retry;
    private readonly TimeSpan _delayWarningAfter;
    private readonly TimeSpan _expireAfter;
    private readonly TimeSpan _tlsExpireAfter;
    private readonly OutboundTlsPolicy _tlsPolicy;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueRunner> _log;
    // Two pools: local deliveries are short and must not wait behind slow remote servers, and a
    // crowd of idle workers on the local path measurably slows reception (bench/).
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Channel<string> _remoteWork = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ConcurrentDictionary<string, byte> _inFlight = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _perDestination = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _localSlots;
    private readonly SemaphoreSlim _remoteSlots;
    private readonly SemaphoreSlim _kick = new(0, 1); // one pending wake-up is enough

    public QueueRunner(MessageSpool spool, DeliveryLogRepository deliveryLog, OutboundTlsPolicy tlsPolicy, RecipientRouter recipients, RemoteDelivery remote,
        SecureMxOptions options, string dataDirectory, TimeProvider time, ILogger<QueueRunner> log)
    {
        _spool = spool;
        _deliveryLog = deliveryLog;
        _remote = remote;
        _options = options;
        _time = time;
        _log = log;
        _maildir = new MaildirDelivery(dataDirectory, options.Hostname, time);
        _dsn = new DsnEmitter(spool, recipients, options, time, log);
        _retry = new RetrySchedule(options.Queue);
        _delayWarningAfter = Duration.Parse(options.Queue.DelayWarningAfter, "queue.delayWarningAfter");
        _expireAfter = Duration.Parse(options.Queue.ExpireAfter, "queue.expireAfter");
        _tlsExpireAfter = Duration.Parse(options.Queue.TlsExpireAfter, "queue.tlsExpireAfter");
        _tlsPolicy = tlsPolicy;
        _localSlots = new SemaphoreSlim(options.Delivery.LocalConcurrency);
        _remoteSlots = new SemaphoreSlim(options.Delivery.RemoteConcurrency);
        _dsn.Arrived += MessageArrived;
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
        var workers = Enumerable.Range(0, _options.Delivery.LocalConcurrency).Select(_ => WorkerAsync(_work.Reader, remote: false, stoppingToken))
            .Concat(Enumerable.Range(0, _options.Delivery.RemoteConcurrency).Select(_ => WorkerAsync(_remoteWork.Reader, remote: true, stoppingToken)))
            .ToList();
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
            var now = _time.GetUtcNow();
            foreach (var id in _spool.Queue.DueMessageIds(now, 1000))
            {
                MessageArrived(id);
            }
            var next = _spool.Queue.NextDueTime();
            var wait = next is null ? TimeSpan.FromMinutes(1) : next.Value - _time.GetUtcNow();
            if (wait < TimeSpan.FromMilliseconds(200)) wait = TimeSpan.FromMilliseconds(200);
            // Look again at least every few seconds: `securemx queue retry` changes due times from another process.
            if (wait > TimeSpan.FromSeconds(5)) wait = TimeSpan.FromSeconds(5);
            using var delay = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var timer = Task.Delay(wait, _time, delay.Token);
            var kicked = _kick.WaitAsync(delay.Token);
            await Task.WhenAny(timer, kicked);
            delay.Cancel();
            try { await Task.WhenAll(timer, kicked); } catch (OperationCanceledException) { }
            ct.ThrowIfCancellationRequested();
        }
    }

    private async Task WorkerAsync(ChannelReader<string> reader, bool remote, CancellationToken ct)
    {
        await foreach (var id in reader.ReadAllAsync(CancellationToken.None))
        {
            bool handedOver = false;
            try
            {
                if (!ct.IsCancellationRequested) handedOver = await ProcessAsync(id, remote, ct);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "{Id}: delivery run failed; will retry", id);
            }
            finally
            {
                if (!handedOver) _inFlight.TryRemove(id, out _);
            }
        }
    }

    /// <summary>One recipient's result of this run, before it is written back.</summary>
    /// <param name="MandatoryTls">Deferred for TLS under a level of encrypt or stricter (else the requirement came from DANE records).</param>
    private sealed record Result(QueuedRecipient Recipient, RecipientState State, DateTimeOffset NextAttemptAt, string? Error, DeliveryLogEntry Log, RemoteOutcome? Remote,
        bool MandatoryTls = false);

    /// <summary>One delivery run for a message. Returns true when it was handed to the remote pool instead.</summary>
    private async Task<bool> ProcessAsync(string id, bool remoteWorker, CancellationToken ct)
    {
        var loaded = _spool.Queue.Load(id);
        if (loaded is null) return false;
        var (envelope, recipients) = loaded.Value;
        var now = _time.GetUtcNow();
        var pending = recipients.Where(r => r.State is RecipientState.Queued or RecipientState.Deferred && r.NextAttemptAt <= now).ToList();
        if (pending.Count == 0) return false;
        if (!remoteWorker && pending.Any(r => r.Recipient.Route == RecipientRoute.Remote))
        {
            // Still in flight: the remote worker delivers all of it, local recipients included.
            return _remoteWork.Writer.TryWrite(id);
        }

        var results = new List<Result>();
        var local = pending.Where(r => r.Recipient.Route == RecipientRoute.Local && r.Recipient.Maildir is not null).ToList();
        foreach (var r in local)
        {
            if (ct.IsCancellationRequested) break;
            if (await DeliverLocalAsync(envelope, r, ct) is { } result) results.Add(result);
        }
        var remoteGroups = pending.Except(local).GroupBy(r => Domain(r.Recipient.Address), StringComparer.OrdinalIgnoreCase);
        var remoteTasks = remoteGroups.Select(g => DeliverRemoteAsync(envelope, g.Key, g.ToList(), ct)).ToList();
        foreach (var t in remoteTasks) results.AddRange(await t);
        if (results.Count == 0) return false; // interrupted by shutdown before anything happened

        now = _time.GetUtcNow();
        var outcomes = new List<RecipientOutcome>();
        var logRows = new List<DeliveryLogEntry>();
        var failedReports = new List<(QueuedRecipient, Result)>();
        var delayedReports = new List<(QueuedRecipient, Result)>();
        var successReports = new List<(QueuedRecipient, Result)>();
        foreach (var result in results)
        {
            var r = result.Recipient;
            var state = result.State;
            var error = result.Error;
            var next = result.NextAttemptAt;
            // A recipient that waits only because no server met its TLS requirement gives up sooner (DESIGN.md §1).
            bool tlsWait = result.Remote?.TlsRequirementUnmet == true;
            var age = now - envelope.ReceivedAt;
            (string Enhanced, string Why)? expiry =
                state != RecipientState.Deferred ? null
                : tlsWait && age >= _tlsExpireAfter
                    ? ("5" + result.Remote!.Enhanced[1..], // 4.7.4 -> 5.7.4, 4.7.5 -> 5.7.5
                       $"{(result.MandatoryTls ? "mandatory TLS" : "the TLS authentication the recipient's DANE records require")} could not be met within {Duration.Format(_tlsExpireAfter)}")
                // Expired (RFC 3463 X.4.7): the last error says why it never worked.
                : age >= _expireAfter ? ("5.4.7", $"delivery time expired after {Duration.Format(_expireAfter)}")
                : null;
            if (expiry is { } expired)
            {
                state = RecipientState.Failed;
                error = $"{expired.Enhanced} {expired.Why}; last error: {error}";
                logRows.Add(result.Log with { Result = "failed", Code = 554, Enhanced = expired.Enhanced, Text = error });
                _log.LogInformation("{Id}: to=<{Rcpt}> status=expired ({Error})", id, r.Recipient.Address, error);
            }
            else
            {
                logRows.Add(result.Log);
            }
            bool warn = state == RecipientState.Deferred && !r.DelayWarned && now - envelope.ReceivedAt >= _delayWarningAfter;
            var final = result with { State = state, Error = error };
            if (state == RecipientState.Failed) failedReports.Add((r, final));
            else if (warn) delayedReports.Add((r, final));
            else if (state == RecipientState.Delivered && r.Recipient.Notify.HasFlag(DsnNotify.Success) && !(result.Remote?.PeerSupportsDsn ?? false)) successReports.Add((r, final));
            outcomes.Add(new RecipientOutcome(r.Index, state, next, error, DelayWarned: warn));
        }

        // Write-behind: never fails or waits here (a database error keeps the rows for a retry).
        _deliveryLog.Append(logRows);

        // DSNs are spooled before the recipients' new state is committed: after a crash in between, the
        // sender may get a report twice, never not at all.
        await _dsn.EmitAsync(envelope, failedReports.Select(x => (x.Item1, x.Item2.Error, x.Item2.Remote)).ToList(), Dsn.DsnAction.Failed, null);
        foreach (var tls in new[] { false, true })
        {
            var group = delayedReports.Where(x => (x.Item2.Remote?.TlsRequirementUnmet == true) == tls).Select(x => (x.Item1, x.Item2.Error, x.Item2.Remote)).ToList();
            await _dsn.EmitAsync(envelope, group, Dsn.DsnAction.Delayed, TlsWait.ExpiresAt(envelope.ReceivedAt, tls, _expireAfter, _tlsExpireAfter));
        }
        await _dsn.EmitAsync(envelope, successReports.Select(x => (x.Item1, x.Item2.Error, x.Item2.Remote)).ToList(),
            successReports.Any(x => x.Item2.Remote is not null) ? Dsn.DsnAction.Relayed : Dsn.DsnAction.Delivered, null);

        int finals = recipients.Count(r => r.State is RecipientState.Delivered or RecipientState.Failed)
                     + outcomes.Count(o => o.State is RecipientState.Delivered or RecipientState.Failed);
        if (finals == recipients.Count)
        {
            // Every recipient is final: one commit removes the message (a crash before it means a duplicate, never a loss).
            await _spool.Queue.RemoveMessageAsync(id);
            _spool.DeleteData(id);
        }
        else
        {
            await _spool.Queue.UpdateRecipientsAsync(id, outcomes, _time);
            // The scheduler may be asleep for up to 5 s: tell it about the new due time.
            if (outcomes.Any(o => o.State == RecipientState.Deferred)) Kick();
        }
        return false;
    }

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant();

    private DeliveryLogEntry LogEntry(Envelope e, QueuedRecipient r, string result, int? code, string? enhanced, string? text, RemoteOutcome? remote) => new(
        _time.GetUtcNow(), e.Id, e.Sender, e.Client.Account, r.Recipient.Address, remote?.MxHost ?? (remote is null ? "local" : null), remote?.Address?.ToString(),
        result, code, enhanced, text, remote?.Tls?.Protocol, remote?.Tls?.CipherSuite,
        (remote?.Tls?.Verification ?? TlsVerification.None).ToString().ToLowerInvariant());

    private async Task<Result?> DeliverLocalAsync(Envelope envelope, QueuedRecipient r, CancellationToken ct)
    {
        var id = envelope.Id;
        await _localSlots.WaitAsync(ct);
        try
        {
            var headers = TraceHeaders.Build(envelope, r.Recipient.Address, _options.HostnameFor(envelope.Client.Listener));
            var file = await _maildir.DeliverAsync(r.Recipient.Maildir!, headers, () => _spool.OpenData(id), ct);
            _log.LogInformation("{Id}: to=<{Rcpt}> relay=local status=sent (delivered to maildir) file={File}", id, r.Recipient.Address, Path.GetFileName(file));
            return new Result(r, RecipientState.Delivered, _time.GetUtcNow(), null, LogEntry(envelope, r, "delivered", 250, "2.0.0", "delivered to maildir", null), null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _log.LogInformation("{Id}: to=<{Rcpt}> relay=local interrupted by shutdown; stays queued", id, r.Recipient.Address);
            return null; // not an attempt: due again at the next start
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var retry = _time.GetUtcNow().AddSeconds(_options.Delivery.LocalRetrySeconds);
            _log.LogWarning("{Id}: to=<{Rcpt}> relay=local status=deferred ({Error})", id, r.Recipient.Address, ex.Message);
            var error = "4.2.0 local delivery failed: " + ex.Message;
            return new Result(r, RecipientState.Deferred, retry, error, LogEntry(envelope, r, "deferred", 451, "4.2.0", error, null), null);
        }
        finally
        {
            _localSlots.Release();
        }
    }

    private async Task<List<Result>> DeliverRemoteAsync(Envelope envelope, string domain, List<QueuedRecipient> group, CancellationToken ct)
    {
        var destination = _perDestination.GetOrAdd(domain, _ => new SemaphoreSlim(_options.Delivery.DestinationConcurrency));
        try
        {
            await _remoteSlots.WaitAsync(ct);
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
                var policy = _tlsPolicy.For(envelope.Client.Account, envelope.Sender, domain);
                var outcomes = await _remote.DeliverAsync(envelope, domain, group, () => _spool.OpenData(envelope.Id), ct, policy.Level, policy.UsesDane);
                var now = _time.GetUtcNow();
                var results = new List<Result>();
                foreach (var o in outcomes)
                {
                    var r = group.Single(x => x.Index == o.Index);
                    var next = o.State == RecipientState.Deferred ? _retry.NextAttempt(r.Attempts + 1, now, Random.Shared) : now;
                    var error = o.State == RecipientState.Delivered ? null
                        : o.TlsRequirementUnmet ? TlsWait.Error(o.Summary, policy) : o.Summary;
                    var result = o.State.ToString().ToLowerInvariant();
                    _log.LogInformation("{Id}: to=<{Rcpt}> relay={Relay} tls={Tls} status={Status} ({Text})", envelope.Id, o.Recipient,
                        o.MxHost is null ? "none" : $"{o.MxHost}[{o.Address}]", o.Tls is null ? "none" : $"{o.Tls.Protocol} {o.Tls.CipherSuite}", result, o.Summary);
                    results.Add(new Result(r, o.State, next, error, LogEntry(envelope, r, result, o.Code, o.Enhanced, o.Text, o), o,
                        MandatoryTls: o.TlsRequirementUnmet && policy.Level.RequiresTls()));
                }
                return results;
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
            _remoteSlots.Release();
        }
    }
}
