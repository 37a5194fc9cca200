using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Queue;

/// <summary>
/// Turns delivery results into DSNs (RFC 3464) and puts them into the queue like any other
/// message: from the null sender (RFC 5321 §4.5.5), to the original sender — into a local
/// Maildir when the sender is hosted here, otherwise out through remote delivery. Never a DSN
/// about a message from the null sender, never one the sender declined with NOTIFY.
/// </summary>
public sealed class DsnEmitter(MessageSpool spool, SecureMxStore store, SecureMxOptions options, TimeProvider time, ILogger log)
{
    /// <summary>Largest original returned whole with RET=FULL; above it, headers only.</summary>
    public const long ReturnSizeLimit = 10 * 1024 * 1024;

    private readonly MessageAcceptor _acceptor = new(spool, arrivals: null, time, log);

    /// <summary>Raised with the queue id of every DSN spooled, so that it is delivered at once.</summary>
    public event Action<string>? Arrived;

    public async Task EmitAsync(Envelope original, IReadOnlyList<(QueuedRecipient Recipient, string? Error, RemoteOutcome? Remote)> items,
        DsnAction action, DateTimeOffset? willRetryUntil)
    {
        var now = time.GetUtcNow();
        var reports = items
            .Where(i => DeliveryStatusNotification.ShouldSend(original.Sender, i.Recipient.Recipient.Notify, action))
            .Select(i => Report(i.Recipient, action, i.Error, i.Remote, willRetryUntil, now))
            .ToList();
        if (reports.Count == 0) return;
        try
        {
            await SpoolAsync(original, reports, action, now);
        }
        catch (Exception ex) when (ex is IOException or Microsoft.Data.Sqlite.SqliteException or FormatException or InvalidOperationException)
        {
            // The recipients' state is still written; the sender misses this report. Say so loudly.
            log.LogError(ex, "{Id}: could not create the {Action} DSN for <{Sender}>", original.Id, action, original.Sender);
        }
    }

    private static DsnRecipientReport Report(QueuedRecipient r, DsnAction action, string? error, RemoteOutcome? remote, DateTimeOffset? retryUntil, DateTimeOffset now)
    {
        var status = StatusOf(action, error, remote);
        return DsnRecipientReport.FromEnvelope(r.Recipient, action, status) with
        {
            RemoteMta = remote?.MxHost,
            DiagnosticCode = remote is { RemoteReply: true } ? $"{remote.Code} {remote.Text}" : null,
            LastAttemptDate = action is DsnAction.Failed or DsnAction.Delayed ? now : null,
            WillRetryUntil = action == DsnAction.Delayed ? retryUntil : null,
            Explanation = error,
        };
    }

    /// <summary>The Status field: the enhanced code that starts our error text, else a generic one for the action.</summary>
    private static string StatusOf(DsnAction action, string? error, RemoteOutcome? remote)
    {
        var first = error?.Split(' ', 2)[0];
        if (first is not null && first.Count(c => c == '.') == 2 && first[0] is '2' or '4' or '5') return first;
        if (remote is not null) return remote.Enhanced;
        return action switch
        {
            DsnAction.Failed => "5.0.0",
            DsnAction.Delayed => "4.0.0",
            _ => "2.0.0",
        };
    }

    private async Task SpoolAsync(Envelope original, List<DsnRecipientReport> reports, DsnAction action, DateTimeOffset now)
    {
        var request = DsnRequest.FromEnvelope(original, options.Hostname, reports, now, () => spool.OpenData(original.Id)) with { ReturnSizeLimit = ReturnSizeLimit };
        using var dsn = DeliveryStatusNotification.Build(request);
        using var bytes = new MemoryStream();
        var written = DeliveryStatusNotification.WriteTo(dsn, bytes);

        if (SmtpAddressParser.TryParseMailbox(original.Sender, allowUtf8: true, out var to) != SmtpAddressParser.Error.None)
            throw new FormatException($"sender <{original.Sender}> is not an address");
        var recipient = Route(to);
        await using var file = _acceptor.Open(maxSize: 0);
        var id = file.Id;
        file.Write(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        var envelope = new Envelope(id, now, "", file.Length,
            new MailParameters(null, written.EightBit ? BodyType.EightBitMime : BodyType.SevenBit, written.SmtpUtf8 || !to.IsAscii, DsnReturn.Unspecified, null),
            new ClientTrace("dsn", "127.0.0.1", options.Hostname, "local", null, null),
            [recipient]);
        // The acceptor has logged why (with "disk full" and the path when that is the cause); the caller says which DSN is missing.
        if (await _acceptor.AcceptAsync(file, envelope) is AcceptResult.StorageFailed failed) throw new IOException(failed.Failure.ToString(), failed.Failure.Error);
        log.LogInformation("{Id}: {Action} DSN {DsnId} to <{Sender}> for {Count} recipient(s)", original.Id, action.ToString().ToLowerInvariant(), id, original.Sender, reports.Count);
        Arrived?.Invoke(id);
    }

    /// <summary>A hosted sender gets the DSN in its Maildir (an unknown one: the postmaster's); anyone else by SMTP.</summary>
    private EnvelopeRecipient Route(EnvelopeAddress to)
    {
        var local = to.IsAddressLiteral ? null : store.LookupRecipient(to.Domain, [to.LookupKey]);
        if (local is null) return new EnvelopeRecipient(to.ToString(), to.ToString(), RecipientRoute.Remote, null, DsnNotify.Never, null, null);
        if (local.Count == 0) return new EnvelopeRecipient("postmaster@" + to.Domain, to.ToString(), RecipientRoute.Local, InboundRecipientPolicy.InstancePostmasterMaildir, DsnNotify.Never, null, null);
        return new EnvelopeRecipient(local[0].Address, to.ToString(), RecipientRoute.Local, local[0].Maildir, DsnNotify.Never, null, null);
    }
}
