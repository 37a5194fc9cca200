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
/// admins with the attempts and the count per sending host. Put into the queue like a DSN: the null reverse
/// path (RFC 5321 §4.5.5, so nothing bounces back), "Auto-Submitted: auto-generated" (RFC 3834 §5, so nothing
/// answers it), hosted admins into their Maildir, others by SMTP. Once per domain and day, even with a restart
/// or several nodes: the send is claimed first (<see cref="ReportSendRepository"/>, kind
/// <see cref="Kind"/>), marked sent once spooled, and released when spooling failed (tried on the next run).
/// <para>
/// Never about mail the digest itself caused. A refused digest cannot come back as a bounce (null sender) or
/// an auto-reply (RFC 3834); what can come back is a reply to its From address, or the digest forwarded by an
/// admin's remote mailbox back here (an envelope from the null sender to that admin). Those attempts are left
/// out of the digest (<see cref="IsCausedByDigest"/>); the domain page and the CLI still list them.
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

    private readonly MessageAcceptor _acceptor = new(spool, arrivals, time, log);

    /// <summary>The digest's From: address; replies to it are not counted in a digest.</summary>
    public string FromAddress => "refused-digest-noreply@" + options.Hostname;

    /// <summary>What a run did for one domain.</summary>
    public sealed record Outcome(string Domain, string Result, string? QueueId = null);

    /// <summary>00:00 UTC of the day <paramref name="t"/> is in.</summary>
    public static DateTimeOffset DayOf(DateTimeOffset t) => new(t.UtcDateTime.Date, TimeSpan.Zero);

    /// <summary>
    /// Sends the digests of <paramref name="day"/> (00:00 UTC) for every domain with the switch on, or only for
    /// <paramref name="onlyDomain"/> (still only with its switch on). Never throws for a storage failure (logged, released).
    /// </summary>
    public async Task<IReadOnlyList<Outcome>> RunAsync(DateTimeOffset day, string? onlyDomain = null, CancellationToken cancellationToken = default)
    {
        day = DayOf(day);
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
        var attempts = refused.Attempts(domain, day, day.AddDays(1), MaxRead).Where(a => !IsCausedByDigest(a, admins)).ToList();
        if (attempts.Count == 0) return new Outcome(domain, "nothing refused");
        var now = time.GetUtcNow();
        if (!sends.TryClaim(Kind, domain, day, node, now)) return new Outcome(domain, "sent or claimed already");
        try
        {
            var id = await SpoolAsync(Build(domain, day, attempts, admins, now), admins);
            sends.MarkSent(Kind, domain, day, time.GetUtcNow(), $"queued {id} to {admins.Count} admin(s)");
            log.LogInformation("refused-mail digest for {Domain} of {Day:yyyy-MM-dd}: {Count} attempt(s), queued as {Id} to {Admins}", domain, day, attempts.Count, id, string.Join(", ", admins));
            return new Outcome(domain, "queued", id);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException || StoreUnavailable.Is(ex))
        {
            // Released: the next run tries again (the claim keeps it to once when it goes through).
            log.LogError(ex, "refused-mail digest for {Domain} of {Day:yyyy-MM-dd} not queued, tried again on the next run", domain, day);
            try
            {
                sends.Release(Kind, domain, day, "not queued: " + ex.Message);
            }
            catch (Exception releaseFailed) when (StoreUnavailable.Is(releaseFailed))
            {
                log.LogError(releaseFailed, "releasing the refused-mail digest claim for {Domain} failed; it is taken over after {Minutes} minutes", domain, ReportSendRepository.StaleClaim.TotalMinutes);
            }
            return new Outcome(domain, "failed: " + ex.Message);
        }
    }

    /// <summary>A reply to the digest's From address, or (from the null sender to one of its recipients) the digest forwarded back.</summary>
    public bool IsCausedByDigest(RefusedAttempt attempt, IReadOnlyCollection<string> admins) =>
        string.Equals(attempt.Recipient, FromAddress, StringComparison.OrdinalIgnoreCase)
        || attempt.MailFrom == "" && admins.Contains(attempt.Recipient, StringComparer.OrdinalIgnoreCase);

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

    private async Task<string> SpoolAsync(MimeMessage message, IReadOnlyList<string> admins)
    {
        var recipients = new List<EnvelopeRecipient>();
        foreach (var admin in admins)
        {
            if (SmtpAddressParser.TryParseMailbox(admin, allowUtf8: true, out var to) != SmtpAddressParser.Error.None)
            {
                log.LogWarning("refused-mail digest: domain admin <{Admin}> is not an address, left out", admin);
                continue;
            }
            recipients.AddRange(Route(to));
        }
        if (recipients.Count == 0) throw new FormatException("no domain admin is a valid address");
        using var bytes = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos, International = true }, bytes);
        await using var file = _acceptor.Open(maxSize: 0);
        file.Write(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        var utf8 = recipients.Any(r => !Ascii.IsValid(r.Address));
        var envelope = new Envelope(file.Id, time.GetUtcNow(), "", file.Length,
            new MailParameters(null, utf8 ? BodyType.EightBitMime : BodyType.SevenBit, utf8, DsnReturn.Unspecified, null),
            new ClientTrace("refused-digest", "127.0.0.1", options.Hostname, "local", null, null),
            recipients.DistinctBy(r => r.Address).ToList());
        if (await _acceptor.AcceptAsync(file, envelope) is AcceptResult.StorageFailed failed) throw new IOException(failed.Failure.ToString(), failed.Failure.Error);
        return file.Id;
    }

    /// <summary>As a DSN is routed: a hosted admin into the Maildir (a missing mailbox: the domain's postmaster), anyone else by SMTP; never NOTIFY.</summary>
    private IEnumerable<EnvelopeRecipient> Route(EnvelopeAddress to)
    {
        var route = router.Route(to);
        if (route.Kind == RecipientKind.UnknownUser) route = router.Route(new EnvelopeAddress("postmaster", to.Domain, false));
        if (!route.IsLocal) return [new EnvelopeRecipient(to.ToString(), to.ToString(), RecipientRoute.Remote, null, DsnNotify.Never, null, null)];
        return route.Targets.DistinctBy(t => t.Address)
            .Select(t => new EnvelopeRecipient(t.Address, to.ToString(), RecipientRoute.Local, t.Maildir, DsnNotify.Never, null, null));
    }
}
