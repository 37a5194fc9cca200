using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Reporting;

/// <summary>
/// Sends the daily TLS reports (RFC 8460 §4–§5): for every recipient domain with sessions counted on a
/// UTC day (<see cref="TlsSessionRepository"/>) whose "_smtp._tls" record asks for reports, the day's
/// aggregate report — by mail into the queue for each <c>rua=mailto:</c> (one message to all of them,
/// from the null sender, routed like a DSN: a hosted address gets it locally) and by HTTPS POST to each
/// <c>rua=https:</c>. One report per domain and day across all nodes of a store: the report is claimed
/// (<see cref="ReportSendRepository.TryClaim"/>) after the record is found and before it is built, marked
/// sent once one URI took it (§3: "successfully delivered" once one endpoint accepted it), released for a
/// later run when none did. The HTTPS URIs go first, each posted and then marked (a process that dies in
/// between posts it again after the claim lapsed: the same report-id, which receivers dedupe, §4.4); the mail
/// last, marked sent ("queued as ID") just before the spool accepts it and unmarked when the spool refuses it,
/// so that it is spooled at most once. A domain without a record costs one DNS lookup and leaves no row.
/// </summary>
public sealed class TlsReportSender(
    IMailDnsResolver dns,
    TlsSessionRepository sessions,
    ReportSendRepository sends,
    TlsReportPoster poster,
    MessageAcceptor acceptor,
    RecipientRouter router,
    SecureMxOptions options,
    string node,
    TimeProvider time,
    ILogger log)
{
    private readonly GeneratedMailSpooler _spooler = new(acceptor, router, options.Hostname);

    /// <summary>
    /// Signs a report mail before it is spooled (RFC 8460 §5.3: DKIM-signed by the From: domain; Dkim/SubmissionSigner,
    /// handed in by the wiring): the signed bytes, or null to send it as written (no key for the domain, or a key
    /// that cannot be used — the report is still worth more sent unsigned than lost). Null: reports are not signed.
    /// </summary>
    public Func<byte[], byte[]?>? Sign { get; init; }

    /// <summary>The report_sends kind of TLS reports.</summary>
    public const string Kind = "tlsrpt";

    /// <summary>
    /// Who the reports say sent them (<see cref="TlsReportSubmitter"/>), the submitter's domain being the
    /// From: domain (RFC 8460 §5.3: TLS-Report-Submitter matches the file name and the From: domain).
    /// </summary>
    public TlsReportSubmitter Submitter => TlsReportSubmitter.From(options) with { Domain = TlsReportMail.SubmitterOf(From) };

    /// <summary>The From: of report mail: the contact-info when it is an address, else tlsrpt-noreply@HOSTNAME.</summary>
    public string From => SmtpAddressParser.TryParseMailbox(TlsReportSubmitter.From(options).ContactInfo, allowUtf8: false, out var a) == SmtpAddressParser.Error.None
        ? a.ToString() : "tlsrpt-noreply@" + options.Hostname.TrimEnd('.').ToLowerInvariant();

    /// <summary>
    /// The reports of <paramref name="day"/> (00:00 UTC) for every domain counted that day, or only
    /// <paramref name="onlyDomain"/>; the domains in <paramref name="skip"/> are passed over (the daily
    /// run's memory of domains that want no report).
    /// </summary>
    public async Task<IReadOnlyList<TlsReportSendResult>> SendDayAsync(DateTimeOffset day, string? onlyDomain, CancellationToken ct, ISet<string>? skip = null)
    {
        var results = new List<TlsReportSendResult>();
        var domains = sessions.Domains(day);
        if (onlyDomain is not null) domains = domains.Where(d => d.Equals(onlyDomain.TrimEnd('.'), StringComparison.OrdinalIgnoreCase)).ToList();
        // The reports sent already (by any node) cost neither a DNS lookup nor a claim.
        var sent = sends.Since(Kind, day).Where(s => s.Day == day && s.SentAt is not null).ToDictionary(s => s.Domain, s => s.Result ?? "");
        foreach (var domain in domains)
        {
            ct.ThrowIfCancellationRequested();
            if (skip?.Contains(domain) == true) continue;
            results.Add(sent.TryGetValue(domain, out var result)
                ? new(domain, day, TlsReportSendOutcome.AlreadyClaimed, result)
                : await SendAsync(domain, day, ct).ConfigureAwait(false));
        }
        return results;
    }

    /// <summary>The report of <paramref name="domain"/> for <paramref name="day"/> (00:00 UTC); never throws for one domain's trouble.</summary>
    public async Task<TlsReportSendResult> SendAsync(string domain, DateTimeOffset day, CancellationToken ct)
    {
        TlsRptLookup lookup;
        try
        {
            lookup = await TlsRptLookup.Find(dns, domain, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lookup = new(TlsRptLookupKind.TemporaryFailure, Reason: $"TXT lookup of {TlsRptRecord.OwnerName(domain)} failed: {ex.Message}");
        }
        if (lookup.Kind == TlsRptLookupKind.TemporaryFailure) return Failed(domain, day, lookup.Reason!);
        if (lookup.Record is not { } record)
        {
            if (lookup.Reason is not null) log.LogInformation("TLS report for {Domain}: no report: {Reason}", domain, lookup.Reason);
            return new(domain, day, TlsReportSendOutcome.NotRequested, lookup.Reason ?? "no _smtp._tls record");
        }
        if (record.Ignored.Count > 0) log.LogInformation("TLS report for {Domain}: rua URIs ignored: {Ignored}", domain, string.Join("; ", record.Ignored));
        if (!record.HasUris) return new(domain, day, TlsReportSendOutcome.NotRequested, "the _smtp._tls record has no mailto: or https: URI");

        var now = time.GetUtcNow();
        if (!sends.TryClaim(Kind, domain, day, node, now)) return new(domain, day, TlsReportSendOutcome.AlreadyClaimed, "");
        var markedAhead = false;
        var done = new List<string>();
        var failed = new List<string>();
        try
        {
            var report = Submitter.Report(domain, day, sessions.Counts(domain, day));
            // HTTPS first: posted, then marked below. A process that dies in between posts it again once the claim
            // lapsed — the same report-id (RFC 8460 §4.4), which receivers use to drop a duplicate.
            foreach (var url in record.Https)
            {
                var posted = await poster.PostAsync(url, report.ToGzip(), ct).ConfigureAwait(false);
                (posted.Delivered ? done : failed).Add(posted.Detail);
                Count("https", posted.Delivered);
            }
            if (record.MailTo.Count > 0)
            {
                // The mail's line comes first in the result, as it always did.
                var targets = RouteMail(record.MailTo, out var skippedText);
                if (targets.Count == 0)
                {
                    failed.Insert(0, "mail: no recipient" + skippedText);
                    Count("mailto", false);
                }
                else
                {
                    var written = TlsReportMail.ToBytes(TlsReportMail.Build(report, From, record.MailTo, options.Hostname, now));
                    var bytes = Sign?.Invoke(written) ?? written;
                    await using var file = _spooler.Write(bytes);
                    var to = string.Join(", ", record.MailTo);
                    var queued = $"mail to {to} queued as {file.Id}{skippedText}";
                    // Marked sent before the spool takes it: a process that dies between the two loses the mail, where
                    // marking afterwards would let the claim lapse and a later run spool it a second time.
                    sends.MarkSent(Kind, domain, day, time.GetUtcNow(), Bounded(Result(done.Prepend(queued), failed)));
                    markedAhead = true;
                    var parameters = new MailParameters(null, BodyType.SevenBit, targets.Any(t => !System.Text.Ascii.IsValid(t.Address)), DsnReturn.Unspecified, null);
                    if (await _spooler.AcceptAsync(file, "", parameters, ClientTrace.TlsReportListener, targets, now).ConfigureAwait(false) is AcceptResult.StorageFailed storage)
                    {
                        failed.Insert(0, $"mail to {to}: not queued: {storage.Failure}");
                        Count("mailto", false);
                        // Sent by HTTPS all the same (marked again below), else unmarked and released for the next run.
                        if (done.Count == 0) sends.UndoSent(Kind, domain, day, Bounded(string.Join("; ", failed)));
                    }
                    else
                    {
                        done.Insert(0, queued);
                        Count("mailto", true);
                    }
                    markedAhead = false;
                }
            }
            if (done.Count > 0)
            {
                var result = Result(done, failed);
                sends.MarkSent(Kind, domain, day, time.GetUtcNow(), Bounded(result));
                log.LogInformation("TLS report for {Domain} {Day:yyyy-MM-dd} sent: {Result}", domain, day.UtcDateTime, result);
                return new(domain, day, TlsReportSendOutcome.Sent, result);
            }
            var why = string.Join("; ", failed);
            sends.Release(Kind, domain, day, Bounded(why));
            return Failed(domain, day, why);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store, the spool: unmarked or released (when the store lets us) so that the next run tries again —
            // unless an HTTPS URI took the report already (then it is sent).
            if (markedAhead && done.Count > 0) return new(domain, day, TlsReportSendOutcome.Sent, Result(done, failed.Append("mail: " + ex.Message)));
            TryRelease(domain, day, ex.Message, markedAhead);
            return Failed(domain, day, ex.Message);
        }
        catch (OperationCanceledException)
        {
            TryRelease(domain, day, "interrupted (shutdown)", markedAhead && done.Count == 0);
            throw;
        }
    }

    private static string Result(IEnumerable<string> done, IEnumerable<string> failed) => string.Join("; ", done.Concat(failed.Select(f => "failed: " + f)));

    /// <summary>
    /// The recipients of the report mail to all <paramref name="addresses"/> (RFC 8460 §5.3), routed like any mail to
    /// them (a hosted report address gets it locally); an unknown hosted address is left out (<paramref name="skippedText"/>).
    /// The mail is from the null sender: a report gets no bounce (RFC 5321 §4.5.5), and so never causes mail about itself.
    /// </summary>
    private List<EnvelopeRecipient> RouteMail(IReadOnlyList<string> addresses, out string skippedText)
    {
        var targets = new List<EnvelopeRecipient>();
        var skipped = new List<string>();
        foreach (var text in addresses)
        {
            if (SmtpAddressParser.TryParseMailbox(text, allowUtf8: true, out var to) != SmtpAddressParser.Error.None) continue;
            var route = _spooler.Route(to, UnknownHostedAddress.LeftOut);
            if (route.Recipients.Count == 0) skipped.Add(to + " (no such address here)");
            targets.AddRange(route.Recipients);
        }
        skippedText = skipped.Count > 0 ? $" (left out: {string.Join(", ", skipped)})" : "";
        return targets;
    }

    private TlsReportSendResult Failed(string domain, DateTimeOffset day, string why)
    {
        log.LogWarning("TLS report for {Domain} {Day:yyyy-MM-dd} not sent (tried again by the next run): {Why}", domain, day.UtcDateTime, why);
        return new(domain, day, TlsReportSendOutcome.Failed, why);
    }

    private void TryRelease(string domain, DateTimeOffset day, string why, bool markedAhead)
    {
        try
        {
            if (markedAhead) sends.UndoSent(Kind, domain, day, Bounded(why));
            else sends.Release(Kind, domain, day, Bounded(why));
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex) || ex is System.Data.Common.DbException)
        {
            // Released: the claim then lapses after ReportSendRepository.StaleClaim; marked: the report is not sent for that day.
            log.LogWarning("TLS report for {Domain}: the claim could not be {What} ({Error})", domain, markedAhead ? "unmarked, the report is not sent for that day" : $"released; it lapses in {ReportSendRepository.StaleClaim.TotalMinutes} min", ex.Message);
        }
    }

    private static void Count(string method, bool delivered) =>
        SecureMxMetrics.TlsReportsSent.Add(1, new("method", method), new("result", delivered ? "sent" : "failed"));

    private static string Bounded(string s) => s.Length <= 2000 ? s : s[..2000] + "…";
}
