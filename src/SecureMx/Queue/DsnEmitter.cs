using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Dsn;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Queue;

/// <summary>
/// Turns delivery results into DSNs (RFC 3464) and puts them into the queue like any other
/// message: from the null sender (RFC 5321 §4.5.5), to the original sender — into a local
/// Maildir when the sender is hosted here, otherwise out through remote delivery. Never a DSN
/// about a message from the null sender, never one the sender declined with NOTIFY. A hosted
/// sender reads it in the language its mailbox chose (<see cref="RecipientRouter.LanguageOf"/>).
/// </summary>
public sealed class DsnEmitter(MessageSpool spool, RecipientRouter recipients, SecureMxOptions options, TimeProvider time, ILogger log)
{
    /// <summary>Largest original returned whole with RET=FULL; above it, headers only.</summary>
    public const long ReturnSizeLimit = 10 * 1024 * 1024;

    private readonly GeneratedMailSpooler _spooler = new(new MessageAcceptor(spool, arrivals: null, time, log), recipients, options.Hostname);

    /// <summary>Raised with the queue id of every DSN spooled, so that it is delivered at once.</summary>
    public event Action<string>? Arrived;

    /// <summary>One recipient to report on: its last outcome, and the server's reply when a server gave it (Diagnostic-Code).</summary>
    public sealed record Item(QueuedRecipient Recipient, DeliveryOutcome Outcome, string? ServerReply = null);

    /// <summary>One DSN to send: the recipients it reports on, its action, and (delayed) until when delivery is tried.</summary>
    public sealed record Batch(DsnAction Action, IReadOnlyList<Item> Items, DateTimeOffset? WillRetryUntil = null);

    public Task<bool> EmitAsync(Envelope original, Batch batch) => EmitAsync(original, batch.Items, batch.Action, batch.WillRetryUntil);

    /// <summary>
    /// Spools the DSN for <paramref name="items"/> (those whose NOTIFY asks for it). False when storage
    /// failed (a full disk, an I/O or database error: logged): the report is not sent and must be tried
    /// again. True when it is spooled, when nobody asked for it, or when it can never be made (a sender
    /// that is not an address, an original that is gone: logged).
    /// </summary>
    public async Task<bool> EmitAsync(Envelope original, IReadOnlyList<Item> items, DsnAction action, DateTimeOffset? willRetryUntil)
    {
        var now = time.GetUtcNow();
        var reports = items
            .Where(i => DeliveryStatusNotification.ShouldSend(original.Sender, i.Recipient.Recipient.Notify, action))
            .Select(i => Report(i, action, willRetryUntil, now))
            .ToList();
        if (reports.Count == 0) return true;
        try
        {
            await SpoolAsync(original, reports, action, now);
            SecureMxMetrics.DsnsSent.Add(1, new KeyValuePair<string, object?>("action", action.ToFieldValue()));
            return true;
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException || StoreUnavailable.Is(ex))
        {
            log.LogError(ex, "{Id}: could not create the {Action} DSN for <{Sender}>", original.Id, action.ToFieldValue(), original.Sender);
            return !IsStorageFailure(ex);
        }
    }

    /// <summary>
    /// A failure of the spool's storage or of the store that routes the DSN (unreachable), which
    /// passes; not the original's data gone missing, which does not.
    /// </summary>
    private static bool IsStorageFailure(Exception ex) =>
        ex is IOException ? ex is not FileNotFoundException and not DirectoryNotFoundException : StoreUnavailable.Is(ex);

    /// <summary>The Status field is the outcome's enhanced code (RFC 3464 §2.3.4), its text the explanation.</summary>
    private static DsnRecipientReport Report(Item item, DsnAction action, DateTimeOffset? retryUntil, DateTimeOffset now) =>
        DsnRecipientReport.FromEnvelope(item.Recipient.Recipient, action, item.Outcome.Status) with
        {
            RemoteMta = item.Outcome.Host,
            DiagnosticCode = item.ServerReply,
            LastAttemptDate = action is DsnAction.Failed or DsnAction.Delayed ? now : null,
            WillRetryUntil = action == DsnAction.Delayed ? retryUntil : null,
            Explanation = item.Outcome.State == RecipientState.Delivered ? null : item.Outcome.Text,
            Cause = item.Outcome.Reason,
        };

    private async Task SpoolAsync(Envelope original, List<DsnRecipientReport> reports, DsnAction action, DateTimeOffset now)
    {
        if (SmtpAddressParser.TryParseMailbox(original.Sender, allowUtf8: true, out var to) != SmtpAddressParser.Error.None)
            throw new FormatException($"sender <{original.Sender}> is not an address");
        var (routed, language) = Route(to);

        var request = DsnRequest.FromEnvelope(original, options.Hostname, reports, now, () => spool.OpenData(original.Id))
            with { ReturnSizeLimit = ReturnSizeLimit, Language = language };
        using var dsn = DeliveryStatusNotification.Build(request);
        using var bytes = new MemoryStream();
        var written = DeliveryStatusNotification.WriteTo(dsn, bytes);

        await using var file = _spooler.Write(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        var id = file.Id;
        // RFC 8689 §5: the report on a REQUIRETLS message is itself sent with REQUIRETLS (it holds the original header).
        var parameters = new MailParameters(null, written.EightBit ? BodyType.EightBitMime : BodyType.SevenBit, written.SmtpUtf8 || !to.IsAscii, DsnReturn.Unspecified, null,
            RequireTls: original.Parameters.RequireTls);
        // The acceptor has logged why (with "disk full" and the path when that is the cause); the caller says which DSN is missing.
        if (await _spooler.AcceptAsync(file, "", parameters, "dsn", routed, now) is AcceptResult.StorageFailed failed) throw new IOException(failed.Failure.ToString(), failed.Failure.Error);
        log.LogInformation("{Id}: {Action} DSN {DsnId} to <{Sender}> for {Count} recipient(s)", original.Id, action.ToString().ToLowerInvariant(), id, original.Sender, reports.Count);
        Arrived?.Invoke(id);
    }

    /// <summary>
    /// Where mail to the sender goes (<see cref="RecipientRouter"/>): a hosted sender gets the DSN in
    /// its Maildir (an alias: its targets'; a subaddress: the mailbox's), a hosted address that no
    /// longer exists goes to the domain's postmaster, anyone else by SMTP. Never NOTIFY: a DSN gets no DSN.
    /// The language is that of the mailboxes that will read it; English for a sender not hosted here.
    /// </summary>
    private (IReadOnlyList<EnvelopeRecipient> Recipients, MailLanguage Language) Route(EnvelopeAddress to)
    {
        var route = _spooler.Route(to, UnknownHostedAddress.Postmaster);
        return (route.Recipients, route.Routing.IsLocal ? recipients.LanguageOf(route.Routing) : MailLanguage.English);
    }
}
