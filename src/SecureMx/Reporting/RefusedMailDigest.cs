using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Reporting;

/// <summary>
/// The daily digest of mail refused under inbound mandatory TLS: for every hosted domain whose switch is on
/// (domains.refused_digest) and that refused attempts on a UTC day, one short plain-text mail to the domain's
/// admins with the attempts and the count per sending host. Put into the queue like a DSN (<see cref="GeneratedMailSpooler"/>:
/// hosted admins into their Maildir, a missing one to the domain's postmaster, others by SMTP; no NOTIFY), from its own
/// envelope sender <see cref="FromAddress"/> (also its From:), with "Auto-Submitted: auto-generated" (RFC 3834 §5, so
/// nothing answers it). Once per domain and day, even with a restart or several nodes: the send is claimed first
/// (<see cref="ReportSendRepository"/>, kind <see cref="Kind"/>), marked sent ("queued as ID") just before the spool
/// accepts it — a process that dies in between loses that day's digest rather than send it twice — and unmarked and
/// released when the spool refuses it (tried on the next run).
/// <para>
/// Never about mail the digest itself caused: the attempts whose envelope sender is the digest's own
/// (<see cref="IsFromDigest"/>: a digest that came back, e.g. forwarded by an admin's mailbox elsewhere) are left
/// out of the digest; the domain page and the CLI still list them. Every other attempt is reported, bounces (the
/// null sender) to an admin included.
/// </para>
/// </summary>
public sealed class RefusedMailDigest(RefusedAttemptRepository refused, RoleRepository roles, ReportSendRepository sends, MessageSpool spool,
    IMessageArrivalSink? arrivals, RecipientRouter router, SecureMxOptions options, string node, TimeProvider time, ILogger log)
{
    /// <summary>The report_sends kind of the digest.</summary>
    public const string Kind = "refused-digest";

    /// <summary>Attempts listed one by one in a digest; the counts per host cover all that were read.</summary>
    public const int MaxListed = 200;

    /// <summary>Attempts of one domain and day read at most (a flood of refusals must not make a mail of any size).</summary>
    public const int MaxRead = 10_000;

    /// <summary>The local part of <see cref="FromAddress"/>.</summary>
    public const string LocalPart = "refused-digest-noreply";

    /// <summary>The listener the digest's queue entries name (<see cref="ClientTrace"/>).</summary>
    public const string Listener = "refused-digest";

    private readonly GeneratedMailSpooler _spooler = new(new MessageAcceptor(spool, arrivals, time, log), router, options.Hostname);

    private string Host => options.Hostname.TrimEnd('.').ToLowerInvariant();

    /// <summary>The digest's envelope sender and From: address; attempts from it are not counted in a digest.</summary>
    public string FromAddress => LocalPart + "@" + Host;

    /// <summary>What a run did for one domain.</summary>
    public sealed record Outcome(string Domain, string Result, string? QueueId = null);

    /// <summary>
    /// Sends the digests of <paramref name="day"/> (00:00 UTC) for every domain with the switch on, or only for
    /// <paramref name="onlyDomain"/> (still only with its switch on). Never throws for a storage failure (logged, released).
    /// </summary>
    public async Task<IReadOnlyList<Outcome>> RunAsync(DateTimeOffset day, string? onlyDomain = null, CancellationToken cancellationToken = default)
    {
        day = UtcDay.Of(day);
        var outcomes = new List<Outcome>();
        foreach (var domain in refused.DigestDomainsWithRefusals(day, day.AddDays(1)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (onlyDomain is not null && !string.Equals(domain, onlyDomain, StringComparison.OrdinalIgnoreCase)) continue;
            outcomes.Add(await SendAsync(domain, day));
        }
        return outcomes;
    }

    private async Task<Outcome> SendAsync(string domain, DateTimeOffset day)
    {
        var admins = roles.ListDomainAdmins(domain);
        if (admins.Count == 0) return new Outcome(domain, "no domain admins");
        var attempts = refused.Attempts(domain, day, day.AddDays(1), MaxRead).Where(a => !IsFromDigest(a.MailFrom)).ToList();
        if (attempts.Count == 0) return new Outcome(domain, "nothing refused");
        var now = time.GetUtcNow();
        if (!sends.TryClaim(Kind, domain, day, node, now)) return new Outcome(domain, "sent or claimed already");
        var markedAhead = false;
        try
        {
            var recipients = RouteAdmins(admins);
            await using var file = _spooler.Write(ToBytes(Build(domain, day, attempts, admins, now)));
            // Marked sent before the spool takes it: a process that dies between the two loses this digest, where
            // marking afterwards would let the claim lapse and a later run spool it a second time.
            sends.MarkSent(Kind, domain, day, now, $"queued as {file.Id} to {admins.Count} admin(s)");
            markedAhead = true;
            var utf8 = recipients.Any(r => !Ascii.IsValid(r.Address));
            var parameters = new MailParameters(null, utf8 ? BodyType.EightBitMime : BodyType.SevenBit, utf8, DsnReturn.Unspecified, null);
            if (await _spooler.AcceptAsync(file, FromAddress, parameters, Listener, recipients, now) is AcceptResult.StorageFailed failed)
                throw new IOException(failed.Failure.ToString(), failed.Failure.Error);
            markedAhead = false;
            log.LogInformation("refused-mail digest for {Domain} of {Day:yyyy-MM-dd}: {Count} attempt(s), queued as {Id} to {Admins}", domain, day, attempts.Count, file.Id, string.Join(", ", admins));
            return new Outcome(domain, "queued", file.Id);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException || StoreUnavailable.Is(ex))
        {
            // Unmarked (when marked) and released: the next run tries again (the claim keeps it to once when it goes through).
            log.LogError(ex, "refused-mail digest for {Domain} of {Day:yyyy-MM-dd} not queued, tried again on the next run", domain, day);
            try
            {
                if (markedAhead) sends.UndoSent(Kind, domain, day, "not queued: " + ex.Message);
                else sends.Release(Kind, domain, day, "not queued: " + ex.Message);
            }
            catch (Exception releaseFailed) when (StoreUnavailable.Is(releaseFailed))
            {
                if (markedAhead) log.LogError(releaseFailed, "the refused-mail digest for {Domain} of {Day:yyyy-MM-dd} is marked sent but was not queued; it is not sent for that day", domain, day);
                else log.LogError(releaseFailed, "releasing the refused-mail digest claim for {Domain} failed; it is taken over after {Minutes} minutes", domain, ReportSendRepository.StaleClaim.TotalMinutes);
            }
            return new Outcome(domain, "failed: " + ex.Message);
        }
    }

    /// <summary>
    /// Whether <paramref name="mailFrom"/> is the digest's own envelope sender (<see cref="FromAddress"/>), also as a
    /// forwarder rewrote it keeping the address in the local part: SRS (<c>SRS0=HASH=TT=HOSTNAME=refused-digest-noreply@forwarder</c>,
    /// SRS1 likewise) and BATV (<c>prvs=TAG=refused-digest-noreply@HOSTNAME</c>). Decided on the local part's
    /// '='-separated fields: the last is <see cref="LocalPart"/>, and the domain is this host or the field before it is.
    /// Anyone can send from that address to keep an attempt out of the digest; the page and the CLI list it still.
    /// </summary>
    public bool IsFromDigest(string? mailFrom)
    {
        if (string.IsNullOrEmpty(mailFrom)) return false;
        var at = mailFrom.LastIndexOf('@');
        if (at <= 0) return false;
        var fields = mailFrom[..at].Split('=');
        if (!fields[^1].Equals(LocalPart, StringComparison.OrdinalIgnoreCase)) return false;
        return mailFrom[(at + 1)..].TrimEnd('.').Equals(Host, StringComparison.OrdinalIgnoreCase)
            || fields.Length >= 2 && fields[^2].TrimEnd('.').Equals(Host, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The digest mail (plain text, quoted-printable: HELO names and addresses are the senders' text).</summary>
    public MimeMessage Build(string domain, DateTimeOffset day, IReadOnlyList<RefusedAttempt> attempts, IReadOnlyList<string> admins, DateTimeOffset now)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("SecureMx", FromAddress));
        foreach (var a in admins) message.To.Add(new MailboxAddress("", a));
        message.Subject = string.Format(CultureInfo.InvariantCulture, "Refused mail for {0} on {1:yyyy-MM-dd}: {2} attempt(s) without secure TLS", domain, day, attempts.Count);
        message.Date = now;
        message.MessageId = MimeUtils.GenerateMessageId(options.Hostname);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        var body = new TextPart("plain") { Text = Text(domain, day, attempts), ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        body.ContentType.Charset = "utf-8";
        message.Body = body;
        return message;
    }

    /// <summary>The digest's text: what happened, the count per sending host (the busiest <see cref="RefusedAttemptRepository.MaxHosts"/>, then "N more"), then the attempts (newest first, at most <see cref="MaxListed"/>).</summary>
    public static string Text(string domain, DateTimeOffset day, IReadOnlyList<RefusedAttempt> attempts)
    {
        var inv = CultureInfo.InvariantCulture;
        var t = new StringBuilder();
        t.Append(inv, $"Refused mail for {domain} on {day:yyyy-MM-dd} (UTC)\n\n");
        t.Append(inv, $"Inbound mandatory TLS is on for {domain}: mail from servers without secure TLS (TLS 1.2 or 1.3 with\n");
        t.Append("ECDHE and AES-GCM or ChaCha20-Poly1305) is refused and not stored; the sending server was told why.\n");
        t.Append(inv, $"{attempts.Count} attempt(s) were refused. The reverse name is shown only when it is forward-confirmed.\n\n");
        t.Append("Per sending host:\n");
        var hosts = attempts.GroupBy(a => a.ClientIp).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        foreach (var h in hosts.Take(RefusedAttemptRepository.MaxHosts))
        {
            var latest = h.First(); // newest first
            t.Append(inv, $"  {h.Key}  {Clean(latest.ReverseName ?? "(no confirmed reverse name)")}  HELO {Clean(latest.Helo ?? "(none)")}  {h.Count()} attempt(s)\n");
        }
        if (hosts.Count > RefusedAttemptRepository.MaxHosts) t.Append(inv, $"  {hosts.Count - RefusedAttemptRepository.MaxHosts} more host(s), each with fewer attempts, not listed\n");
        t.Append(attempts.Count > MaxListed ? string.Format(inv, "\nAttempts (newest first; the first {0} of {1}):\n", MaxListed, attempts.Count) : "\nAttempts (newest first):\n");
        foreach (var a in attempts.Take(MaxListed))
        {
            t.Append(inv, $"  {a.At:HH:mm:ss}Z  {a.ClientIp}  from <{Clean(a.MailFrom ?? "?")}> to <{Clean(a.Recipient)}>  lacked: {Lacked(a)}\n");
        }
        return t.ToString();
    }

    /// <summary>"no TLS", "protocol TLSv1.1", "cipher TLS_…": what the session lacked, with what it had.</summary>
    public static string Lacked(RefusedAttempt a) => a.Lacked switch
    {
        TlsShortfall.NoTls => "no TLS",
        TlsShortfall.Protocol => "protocol " + Clean(a.TlsProtocol ?? "?"),
        _ => "cipher " + Clean(a.TlsCipher ?? "?") + " (" + Clean(a.TlsProtocol ?? "?") + ")",
    };

    /// <summary>The senders' text without control characters, at most 200 characters (one line of the digest each).</summary>
    private static string Clean(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > 200 ? clean[..200] + "…" : clean;
    }

    private static byte[] ToBytes(MimeMessage message)
    {
        using var bytes = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos, International = true }, bytes);
        return bytes.ToArray();
    }

    /// <summary>As a DSN is routed: a hosted admin into the Maildir (a missing mailbox: the domain's postmaster), anyone else by SMTP; never NOTIFY.</summary>
    private List<EnvelopeRecipient> RouteAdmins(IReadOnlyList<string> admins)
    {
        var recipients = new List<EnvelopeRecipient>();
        foreach (var admin in admins)
        {
            if (SmtpAddressParser.TryParseMailbox(admin, allowUtf8: true, out var to) != SmtpAddressParser.Error.None)
            {
                log.LogWarning("refused-mail digest: domain admin <{Admin}> is not an address, left out", admin);
                continue;
            }
            recipients.AddRange(_spooler.Route(to, UnknownHostedAddress.Postmaster).Recipients);
        }
        if (recipients.Count == 0) throw new FormatException("no domain admin is a valid address");
        return recipients;
    }
}
