using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Smtp;
using SecureMx.Spool;

namespace SecureMx.Queue;

/// <summary>
/// Delivers what the spool holds. New messages arrive through <see cref="MessageArrived"/>; a
/// scheduler finds recipients whose retry time has come (and, at start-up, everything that was
/// acknowledged before a crash). A message leaves the queue only when every recipient is final.
/// </summary>
public sealed class QueueRunner : BackgroundService, IMessageArrivalSink
{
    private readonly MessageSpool _spool;
    private readonly MaildirDelivery _maildir;
    private readonly SecureMxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueRunner> _log;
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ConcurrentDictionary<string, byte> _inFlight = new();
    private readonly SemaphoreSlim _kick = new(0);

    public QueueRunner(MessageSpool spool, SecureMxOptions options, string dataDirectory, TimeProvider time, ILogger<QueueRunner> log)
    {
        _spool = spool;
        _options = options;
        _time = time;
        _log = log;
        _maildir = new MaildirDelivery(dataDirectory, options.Hostname, time);
    }

    public void MessageArrived(string messageId)
    {
        if (_inFlight.TryAdd(messageId, 0)) _work.Writer.TryWrite(messageId);
    }

    /// <summary>Asks the scheduler to look for due recipients now (e.g. after an operator's retry).</summary>
    public void Kick() => _kick.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = Enumerable.Range(0, Math.Max(1, _options.Delivery.LocalConcurrency))
            .Select(_ => WorkerAsync(stoppingToken)).ToList();
        try
        {
            await SchedulerAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        _work.Writer.TryComplete();
        await Task.WhenAll(workers);
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

    private async Task WorkerAsync(CancellationToken ct)
    {
        await foreach (var id in _work.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                if (!ct.IsCancellationRequested) await ProcessAsync(id, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _log.LogError(ex, "{Id}: delivery run failed; will retry", id);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _inFlight.TryRemove(id, out _);
            }
        }
    }

    private async Task ProcessAsync(string id, CancellationToken ct)
    {
        var loaded = _spool.Queue.Load(id);
        if (loaded is null) return;
        var (envelope, recipients) = loaded.Value;
        var now = _time.GetUtcNow();
        var pending = recipients.Where(r => r.State is RecipientState.Queued or RecipientState.Deferred && r.NextAttemptAt <= now).ToList();
        int finals = recipients.Count(r => r.State is RecipientState.Delivered or RecipientState.Failed);
        var outcomes = new List<RecipientOutcome>();
        foreach (var r in pending)
        {
            if (ct.IsCancellationRequested) break;
            var outcome = await DeliverOneAsync(envelope, r, ct);
            if (outcome is null) break; // interrupted by shutdown: not an attempt, due again at the next start
            outcomes.Add(outcome);
            if (outcome.State is RecipientState.Delivered or RecipientState.Failed) finals++;
        }
        if (finals == recipients.Count)
        {
            // Every recipient is final: one commit removes the message (a crash before it means a duplicate, never a loss).
            await _spool.Queue.RemoveMessageAsync(id);
            _spool.DeleteData(id);
        }
        else if (outcomes.Count > 0)
        {
            await _spool.Queue.UpdateRecipientsAsync(id, outcomes, _time);
        }
    }

    private async Task<RecipientOutcome?> DeliverOneAsync(Envelope envelope, QueuedRecipient r, CancellationToken ct)
    {
        var id = envelope.Id;
        if (r.Recipient.Route != RecipientRoute.Local || r.Recipient.Maildir is null)
        {
            // Remote delivery arrives with the outbound issue; until then nothing routes here. Keep, never drop.
            return new RecipientOutcome(r.Index, RecipientState.Deferred, _time.GetUtcNow().AddHours(1), "4.4.0 remote delivery is not available in this version");
        }
        try
        {
            var headers = TraceHeaders.Build(envelope, r.Recipient.Address, _options.Hostname);
            var file = await _maildir.DeliverAsync(r.Recipient.Maildir, headers, () => _spool.OpenData(id), ct);
            _log.LogInformation("{Id}: to=<{Rcpt}> relay=local status=sent (delivered to maildir) file={File}", id, r.Recipient.Address, Path.GetFileName(file));
            return new RecipientOutcome(r.Index, RecipientState.Delivered, _time.GetUtcNow(), null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _log.LogInformation("{Id}: to=<{Rcpt}> relay=local interrupted by shutdown; stays queued", id, r.Recipient.Address);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var retry = _time.GetUtcNow().AddSeconds(_options.Delivery.LocalRetrySeconds);
            _log.LogWarning("{Id}: to=<{Rcpt}> relay=local status=deferred ({Error})", id, r.Recipient.Address, ex.Message);
            return new RecipientOutcome(r.Index, RecipientState.Deferred, retry, "4.2.0 local delivery failed: " + ex.Message);
        }
    }
}
