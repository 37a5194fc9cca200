using System.Text;
using MimeKit;
using MimeKit.Utils;
using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>What the bytes written by <see cref="DeliveryStatusNotification.WriteTo"/> need from the SMTP transaction that sends them.</summary>
/// <param name="Length">Octets written.</param>
/// <param name="EightBit">8-bit octets in the body: send with BODY=8BITMIME (RFC 6152).</param>
/// <param name="SmtpUtf8">UTF-8 in the top-level header fields (a non-ASCII sender address): send with SMTPUTF8 (RFC 6531).</param>
public readonly record struct DsnWriteResult(long Length, bool EightBit, bool SmtpUtf8);

/// <summary>
/// Builds delivery status notifications: a multipart/report (RFC 6522) with a human-readable text part,
/// a message/delivery-status part (RFC 3464) — message/global-delivery-status when an address or value is
/// not ASCII (RFC 6533) — and the original message or its headers, as the RET parameter asks (RFC 3461 §4.3).
/// The result is sent with the null reverse-path MAIL FROM:&lt;&gt; (RFC 5321 §4.5.5, RFC 3461 §6.2).
/// </summary>
public static class DeliveryStatusNotification
{
    /// <summary>Header fields are folded to stay within this many characters where whitespace allows (RFC 5322 §2.1.1).</summary>
    private const int FoldAt = 78;

    /// <summary>A single word longer than this is split so no line exceeds RFC 5322's 998-character limit.</summary>
    private const int MaxWord = 900;

    /// <summary>
    /// Whether a DSN of kind <paramref name="action"/> goes to <paramref name="envelopeSender"/> for a recipient
    /// that gave <paramref name="notify"/>.
    /// </summary>
    /// <remarks>
    /// Never to the null reverse-path (RFC 5321 §4.5.5, RFC 3461 §6.2): a DSN about a DSN could loop.
    /// NOTIFY=NEVER: never. No NOTIFY: failures and delays, not successes — RFC 3461 §4.1 lets the MTA
    /// choose FAILURE or FAILURE,DELAY; like Postfix we choose FAILURE,DELAY, because SecureMx's delay
    /// warnings (e.g. mandatory TLS not met) are worth the sender's attention. Otherwise the listed kinds:
    /// FAILURE → failed, DELAY → delayed, SUCCESS → delivered, relayed (RFC 3461 §6.2.2) and expanded.
    /// </remarks>
    public static bool ShouldSend(string envelopeSender, DsnNotify notify, DsnAction action)
    {
        if (IsNullPath(envelopeSender)) return false;
        if (notify.HasFlag(DsnNotify.Never)) return false;
        if (notify == DsnNotify.Unspecified) return action is DsnAction.Failed or DsnAction.Delayed;
        return action switch
        {
            DsnAction.Failed => notify.HasFlag(DsnNotify.Failure),
            DsnAction.Delayed => notify.HasFlag(DsnNotify.Delay),
            DsnAction.Delivered or DsnAction.Relayed or DsnAction.Expanded => notify.HasFlag(DsnNotify.Success),
            _ => false,
        };
    }

    private static bool IsNullPath(string? sender) =>
        string.IsNullOrWhiteSpace(sender) || sender.Trim() == "<>";

    /// <summary>
    /// Builds the DSN. Reads the original message once through <see cref="DsnRequest.OpenOriginal"/>; the
    /// returned message holds its copy in memory, so dispose it when written. An exception from opening or
    /// reading the original propagates (the caller retries later, or builds again without
    /// <see cref="DsnRequest.OpenOriginal"/> when the data is gone for good); an original MimeKit cannot
    /// parse is returned as its header block.
    /// </summary>
    /// <exception cref="ArgumentException">No recipients, a null sender, an empty host name or a malformed status code.</exception>
    public static MimeMessage Build(DsnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Hostname)) throw new ArgumentException("The reporting host name is empty.", nameof(request));
        if (IsNullPath(request.Sender)) throw new ArgumentException("No DSN is ever sent to the null reverse-path (RFC 5321 §4.5.5).", nameof(request));
        if (request.Recipients.Count == 0) throw new ArgumentException("A DSN reports on at least one recipient (RFC 3464 §2.1).", nameof(request));
        foreach (var r in request.Recipients)
        {
            if (string.IsNullOrWhiteSpace(r.FinalRecipient)) throw new ArgumentException("A recipient report has no Final-Recipient.", nameof(request));
            // A value built by hand may still be outside RFC 3463 §2: class 2, 4 or 5; subject and detail 0 to 999.
            if (r.Status is not { Class: 2 or 4 or 5, Subject: >= 0 and <= 999, Detail: >= 0 and <= 999 })
                throw new ArgumentException($"'{r.Status}' is not an enhanced status code (RFC 3463).", nameof(request));
        }

        var host = Clean(request.Hostname);
        bool anyFailed = request.Recipients.Any(r => r.Action == DsnAction.Failed);
        bool anyDelayed = request.Recipients.Any(r => r.Action == DsnAction.Delayed);
        bool international = IsInternational(request);

        var returned = ReturnedContent(request, anyFailed, out var returnedKind, out var originalSubject);
        var words = DsnWording.For(request.Language);

        var report = new MultipartReport("delivery-status")
        {
            TextPart(DsnText.Compose(request, host, returnedKind), request.Language),
            StatusPart(request, host, international),
        };
        if (returned is not null) report.Add(returned);

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(words.FromName, "MAILER-DAEMON@" + host));
        message.To.Add(new MailboxAddress("", request.Sender.Trim()));
        message.Subject = words.Subject(anyFailed ? DsnAction.Failed : anyDelayed ? DsnAction.Delayed : DsnAction.Delivered, originalSubject);
        message.Date = request.GeneratedAt;
        message.MessageId = MimeUtils.GenerateMessageId(host);
        // RFC 3834 §5: an automatic response; auto-responders must not answer it.
        message.Headers.Add("Auto-Submitted", "auto-replied");
        message.Body = report;
        return message;
    }

    /// <summary>
    /// Writes <paramref name="dsn"/> with CRLF line endings, ready to spool and send with MAIL FROM:&lt;&gt;.
    /// </summary>
    public static DsnWriteResult WriteTo(MimeMessage dsn, Stream output)
    {
        ArgumentNullException.ThrowIfNull(dsn);
        ArgumentNullException.ThrowIfNull(output);
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        // Not International: MimeKit would then also turn an A-label domain in To into U-labels and make an
        // ASCII sender need SMTPUTF8. A UTF-8 local part is written as UTF-8 either way.
        options.International = false;
        var scanning = new ScanningWriteStream(output);
        dsn.WriteTo(options, scanning);
        scanning.Flush();
        var s = scanning.Scanner;
        return new DsnWriteResult(s.Length, s.BodyEightBit, s.HeadersEightBit);
    }

    /// <summary>Whether any value that goes into the report is non-ASCII, which needs message/global-delivery-status (RFC 6533 §6).</summary>
    private static bool IsInternational(DsnRequest request) =>
        !Ascii.IsValid(request.Sender) || !Ascii.IsValid(request.EnvelopeId ?? "") || !Ascii.IsValid(request.Hostname) ||
        request.Recipients.Any(r =>
            !Ascii.IsValid(r.FinalRecipient) || !Ascii.IsValid(r.OriginalRecipient ?? "") || !Ascii.IsValid(r.OriginalRecipientType ?? "") ||
            !Ascii.IsValid(r.RemoteMta ?? "") || !Ascii.IsValid(r.DiagnosticCode ?? "") || !Ascii.IsValid(r.DiagnosticType));

    private static TextPart TextPart(string text, MailLanguage language)
    {
        var part = new TextPart("plain");
        part.SetText("utf-8", text);
        // Quoted-printable when needed, so the notice survives a path without 8BITMIME.
        if (!Ascii.IsValid(text) || text.Split('\n').Any(l => l.Length > 998)) part.ContentTransferEncoding = ContentEncoding.QuotedPrintable;
        part.Headers.Add(HeaderId.ContentDescription, "Notification");
        // RFC 3282 §2: the language its reader is expected to read; the other parts are for programs.
        part.Headers.Add(HeaderId.ContentLanguage, language.Name());
        return part;
    }

    /// <summary>The machine-readable part (RFC 3464 §2): the per-message group, then one group per recipient.</summary>
    private static MessageDeliveryStatus StatusPart(DsnRequest request, string host, bool international)
    {
        var groups = new List<StringBuilder>();

        // RFC 3464 §2.2, in the order of its grammar.
        var perMessage = new StringBuilder();
        if (!string.IsNullOrEmpty(request.EnvelopeId)) AppendField(perMessage, "Original-Envelope-Id", Clean(request.EnvelopeId));
        AppendField(perMessage, "Reporting-MTA", "dns; " + host);
        // Like Postfix's X-Postfix-Queue-ID: the id an administrator searches the logs for.
        if (!string.IsNullOrWhiteSpace(request.QueueId)) AppendField(perMessage, "X-SecureMx-Queue-ID", Clean(request.QueueId));
        AppendField(perMessage, "Arrival-Date", DateUtils.FormatDate(request.ArrivalDate));
        groups.Add(perMessage);

        // RFC 3464 §2.3, in the order of its grammar.
        foreach (var r in request.Recipients)
        {
            var g = new StringBuilder();
            if (!string.IsNullOrEmpty(r.OriginalRecipientType) && !string.IsNullOrEmpty(r.OriginalRecipient))
                AppendField(g, "Original-Recipient", Clean(r.OriginalRecipientType) + "; " + Clean(r.OriginalRecipient));
            var final = Clean(r.FinalRecipient);
            // RFC 6533 §3: the "utf-8" address type carries a non-ASCII address.
            AppendField(g, "Final-Recipient", (Ascii.IsValid(final) ? "rfc822; " : "utf-8; ") + final);
            AppendField(g, "Action", r.Action.ToFieldValue());
            AppendField(g, "Status", r.Status.ToString());
            if (!string.IsNullOrWhiteSpace(r.RemoteMta)) AppendField(g, "Remote-MTA", "dns; " + Clean(r.RemoteMta));
            if (!string.IsNullOrWhiteSpace(r.DiagnosticCode)) AppendField(g, "Diagnostic-Code", Clean(r.DiagnosticType) + "; " + Clean(r.DiagnosticCode));
            if (r.LastAttemptDate is { } last) AppendField(g, "Last-Attempt-Date", DateUtils.FormatDate(last));
            if (r.Action == DsnAction.Delayed && r.WillRetryUntil is { } until) AppendField(g, "Will-Retry-Until", DateUtils.FormatDate(until));
            groups.Add(g);
        }

        // Groups are separated by one empty line. No empty line after the last group: a parser would read
        // it as one more, empty, per-recipient group (MimeKit 4.18 does).
        var text = string.Join("\r\n", groups.Select(g => g.ToString()));
        var bytes = Encoding.UTF8.GetBytes(text);

        var part = new MessageDeliveryStatus();
        if (international)
        {
            part.ContentType.MediaSubtype = "global-delivery-status";
            if (!Ascii.IsValid(text)) part.ContentTransferEncoding = ContentEncoding.EightBit;
        }
        part.Content = new MimeContent(new MemoryStream(bytes, writable: false));
        part.Headers.Add(HeaderId.ContentDescription, "Delivery report");
        return part;
    }

    /// <summary>Which form of the original message the DSN carries.</summary>
    internal enum Returned { Nothing, Headers, Full }

    /// <summary>
    /// The third part (RFC 6522 §3): the whole message for RET=FULL in a DSN with a failure, otherwise the
    /// header block. RFC 3461 §4.3: a DSN without any failure SHOULD return only the headers.
    /// </summary>
    /// <param name="subject">The original's Subject (<see cref="SubjectOf"/>); null when it has none or could not be read.</param>
    private static MimeEntity? ReturnedContent(DsnRequest request, bool anyFailed, out Returned kind, out string? subject)
    {
        kind = Returned.Nothing;
        subject = null;
        if (request.OpenOriginal is null) return null;

        using var opened = request.OpenOriginal();
        Stream stream = opened;
        using var buffered = opened.CanSeek ? null : new MemoryStream();
        if (buffered is not null)
        {
            opened.CopyTo(buffered);
            buffered.Position = 0;
            stream = buffered;
        }
        long start = stream.Position;
        var scan = OctetScanner.Scan(stream);

        bool full = request.Return == DsnReturn.Full && anyFailed && (request.ReturnSizeLimit is not { } limit || scan.Length <= limit);
        if (full)
        {
            stream.Position = start;
            try
            {
                var original = MimeMessage.Load(stream);
                subject = SubjectOf(original);
                // RFC 6532 §3.7: a message with UTF-8 header fields travels as message/global.
                var part = new MessagePart(scan.HeadersEightBit ? "global" : "rfc822") { Message = original };
                // RFC 2046 §5.2.1: message/rfc822 allows only 7bit, 8bit or binary; declare 8bit when it is.
                if (scan.HeadersEightBit || scan.BodyEightBit) part.Headers.Add(HeaderId.ContentTransferEncoding, "8bit");
                part.Headers.Add(HeaderId.ContentDescription, "Undelivered message");
                kind = Returned.Full;
                return part;
            }
            catch (FormatException)
            {
                // Not parseable as a message: return what can be returned, the header block.
            }
        }

        if (scan.HeaderLength == 0) return null;
        stream.Position = start;
        var header = new byte[scan.HeaderLength + 2];
        stream.ReadExactly(header, 0, (int)scan.HeaderLength);
        int length = (int)scan.HeaderLength;
        // A message without an empty line ends inside its header block, maybe without a final CRLF.
        if (header[length - 1] != (byte)'\n')
        {
            header[length++] = (byte)'\r';
            header[length++] = (byte)'\n';
        }

        // MimeKit models text/rfc822-headers as a message without a body: the header block is kept as
        // received and written back followed by the empty line that ends it.
        MimeMessage headerOnly;
        try
        {
            headerOnly = MimeMessage.Load(new MemoryStream(header, 0, length, writable: false));
        }
        catch (FormatException)
        {
            return null;
        }
        subject = SubjectOf(headerOnly);
        var headers = new TextRfc822Headers { Message = headerOnly };
        if (scan.HeadersEightBit)
        {
            // RFC 6533 §6.3: UTF-8 header fields are returned as message/global-headers.
            headers.ContentType.MediaType = "message";
            headers.ContentType.MediaSubtype = "global-headers";
            headers.Headers.Add(HeaderId.ContentTransferEncoding, "8bit");
        }
        headers.Headers.Add(HeaderId.ContentDescription, "Undelivered message headers");
        kind = Returned.Headers;
        return headers;
    }

    /// <summary>A subject quoted in the DSN's own Subject is cut after this many characters.</summary>
    private const int MaxQuotedSubject = 160;

    /// <summary>The original's subject, decoded, <see cref="Clean"/>ed and cut to <see cref="MaxQuotedSubject"/> characters; null when empty.</summary>
    private static string? SubjectOf(MimeMessage original)
    {
        var subject = Clean(original.Subject ?? "");
        if (subject.Length == 0) return null;
        if (subject.Length <= MaxQuotedSubject) return subject;
        int cut = MaxQuotedSubject;
        if (char.IsHighSurrogate(subject[cut - 1])) cut--; // never half a character
        return subject[..cut] + "…";
    }

    /// <summary>
    /// Makes a value safe for a header field and for the text part: control characters (a CR or LF in a
    /// remote reply would inject fields) become spaces, runs of white space one space.
    /// </summary>
    internal static string Clean(string value)
    {
        var sb = new StringBuilder(value.Length);
        bool space = false;
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                space = sb.Length > 0;
                continue;
            }
            if (space) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Appends "Name: value" CRLF, folded before white space when longer than <see cref="FoldAt"/> (RFC 5322 §2.2.3).</summary>
    private static void AppendField(StringBuilder sb, string name, string value)
    {
        int lineStart = sb.Length;
        bool lineHasWord = false;
        sb.Append(name).Append(':');
        foreach (var word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            for (int i = 0; i < word.Length; i += MaxWord)
            {
                var piece = word.Substring(i, Math.Min(MaxWord, word.Length - i));
                // Fold only after a word, so no line is white space alone.
                if (lineHasWord && sb.Length - lineStart + 1 + piece.Length > FoldAt)
                {
                    sb.Append("\r\n");
                    lineStart = sb.Length;
                }
                sb.Append(' ').Append(piece);
                lineHasWord = true;
            }
        }
        sb.Append("\r\n");
    }
}
