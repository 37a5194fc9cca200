using System.Text;
using MimeKit.Utils;
using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// The human-readable first part of a DSN (RFC 6522 §3): per kind of outcome, which recipients, why, what the
/// receiving server answered, and what the sender can do. Plain, short English, one recipient per paragraph.
/// </summary>
internal static class DsnText
{
    private const int Width = 76;
    private const string Indent = "  ";

    public static string Compose(DsnRequest request, string host, DeliveryStatusNotification.Returned returned)
    {
        var sb = new StringBuilder();
        sb.Append("This is the mail system at host ").Append(host).Append(".\n\n");

        // TLS failures get their own advice below; "check the address" would only mislead.
        bool onlyTls = request.Recipients.Where(r => r.Action == DsnAction.Failed).All(IsTls);
        Section(sb, request, DsnAction.Failed,
            "Your message could not be delivered to the recipients below. No further delivery attempts will be made.",
            onlyTls ? null :
            "What you can do: check each address for typing errors and send the message again. If an address is " +
            "correct, the problem lies with the receiving system: reach the recipient another way (another " +
            "address, phone) and pass on the reason given above.");
        Section(sb, request, DsnAction.Delayed,
            "Your message has not been delivered yet to the recipients below. SecureMx is still trying; you do not need to do anything.",
            "If the message still cannot be delivered by then, you will receive a final notice.");
        Section(sb, request, DsnAction.Delivered,
            "Your message was delivered to the recipients below.",
            null);
        Section(sb, request, DsnAction.Relayed,
            "Your message was passed on to the recipients below through a system that does not send delivery " +
            "notifications, so no further notice about them will follow.",
            null);
        Section(sb, request, DsnAction.Expanded,
            "Your message was delivered to the addresses below, which forward it to further recipients (an alias " +
            "or a mailing list); no further notice about them will follow.",
            null);

        // Deferred or failed because of a TLS requirement (RFC 3463 X.7.4, X.7.5): say what the requirement is and what the sender can do.
        if (request.Recipients.Any(r => r.Action is DsnAction.Failed or DsnAction.Delayed && IsTls(r)))
        {
            Paragraph(sb, "", "About TLS: this message may only be handed over encrypted, with TLS 1.2 or newer and secure " +
                "ciphers — because mandatory TLS is switched on for your account or your domain — or, where the " +
                "recipient's domain publishes DANE (TLSA) records, only to a server that proves its identity with them. " +
                "The receiving servers named above did not offer that, so SecureMx did not send the message, and it " +
                "never sends such a message unencrypted.");
            Paragraph(sb, "", "What you can do: if this message may travel without that protection, switch mandatory TLS off " +
                "for your account or domain (in the dashboard, or ask your mail administrator) and send it again; or reach " +
                "the recipient another way, and let them know that their mail server does not offer secure TLS. Switching " +
                "helps only when mandatory TLS is on for you: a DANE (TLSA) mismatch or lookup error can only be fixed by " +
                "the recipient's mail administrators.");
        }

        var attached = returned switch
        {
            DeliveryStatusNotification.Returned.Full => ", followed by your message",
            DeliveryStatusNotification.Returned.Headers => ", followed by the headers of your message",
            _ => "",
        };
        Paragraph(sb, "", $"The same report in machine-readable form (RFC 3464) is attached{attached}.");
        Paragraph(sb, "", $"Your message was received on {DateUtils.FormatDate(request.ArrivalDate)} with queue ID " +
            $"{DeliveryStatusNotification.Clean(request.QueueId)}. Quote this ID if you contact the postmaster of {host}.");
        // One line break at the end, not an empty line before the next boundary.
        return sb.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>X.7.4 security features not supported, X.7.5 cryptographic failure (RFC 3463 §3.8): the TLS causes.</summary>
    private static bool IsTls(DsnRecipientReport r) => r.Status is { Subject: 7, Detail: 4 or 5 };

    private static void Section(StringBuilder sb, DsnRequest request, DsnAction action, string intro, string? advice)
    {
        var reports = request.Recipients.Where(r => r.Action == action).ToList();
        if (reports.Count == 0) return;
        Paragraph(sb, "", intro);
        foreach (var r in reports)
        {
            sb.Append(Indent).Append('<').Append(DeliveryStatusNotification.Clean(r.FinalRecipient)).Append(">\n");
            if (action is DsnAction.Failed or DsnAction.Delayed)
            {
                var why = r.Explanation is { } e && !string.IsNullOrWhiteSpace(e) ? DeliveryStatusNotification.Clean(e) : DefaultExplanation(r.Status);
                Line(sb, $"Reason: {why.TrimEnd('.')} (status {r.Status}).");
            }
            if (!string.IsNullOrWhiteSpace(r.DiagnosticCode))
            {
                var diagnostic = DeliveryStatusNotification.Clean(r.DiagnosticCode);
                var remote = string.IsNullOrWhiteSpace(r.RemoteMta) ? null : DeliveryStatusNotification.Clean(r.RemoteMta);
                Line(sb, r.DiagnosticType.Equals("smtp", StringComparison.OrdinalIgnoreCase)
                    ? (remote is null ? "The receiving server answered: " : $"The server {remote} answered: ") + diagnostic
                    : "Details: " + diagnostic);
            }
            else if (!string.IsNullOrWhiteSpace(r.RemoteMta))
            {
                Line(sb, "Receiving server: " + DeliveryStatusNotification.Clean(r.RemoteMta));
            }
            if (r.LastAttemptDate is { } last && action is DsnAction.Failed or DsnAction.Delayed)
                Line(sb, "Last attempt: " + DateUtils.FormatDate(last));
            if (action == DsnAction.Delayed)
            {
                Line(sb, r.WillRetryUntil is { } until
                    ? $"SecureMx will keep trying until {DateUtils.FormatDate(until)}; no action needed."
                    : "SecureMx will keep trying; no action needed.");
            }
            sb.Append('\n');
        }
        if (advice is not null) Paragraph(sb, "", advice);
    }

    /// <summary>A sentence for the status code when the report gives none (RFC 3463 subject and detail codes).</summary>
    internal static string DefaultExplanation(EnhancedStatus status) => (status.Subject, status.Detail) switch
    {
        (1, 1) => "the recipient's mailbox does not exist",
        (1, 2) => "the recipient's domain does not exist or accepts no mail",
        (1, 3) => "the recipient's address is not valid",
        (1, 10) => "the recipient's domain accepts no mail (null MX)",
        (2, 1) => "the recipient's mailbox is disabled",
        (2, 2) => "the recipient's mailbox is full",
        (2, 3) => "the message is larger than the recipient accepts",
        (3, 4) => "the message is larger than the receiving system accepts",
        (4, 1) => "the receiving server did not answer",
        (4, 2) => "the connection to the receiving server broke off",
        (4, 3) => "the recipient's domain could not be looked up in the DNS",
        (4, 4) => "no server for the recipient's domain could be reached",
        (4, 7) => "the message could not be delivered in time",
        (7, _) => "the receiving system refused the message for security or policy reasons",
        _ => status.Class switch
        {
            5 => "the receiving system refused the message permanently",
            4 => "a temporary problem prevented delivery",
            _ => "delivered",
        },
    };

    private static void Line(StringBuilder sb, string text) => Wrap(sb, Indent + Indent, Indent + Indent + "  ", text);

    private static void Paragraph(StringBuilder sb, string indent, string text)
    {
        Wrap(sb, indent, indent, text);
        sb.Append('\n');
    }

    /// <summary>Word-wraps <paramref name="text"/> at <see cref="Width"/> columns; a longer word stays whole on its own line.</summary>
    private static void Wrap(StringBuilder sb, string first, string rest, string text)
    {
        var line = new StringBuilder(first);
        bool empty = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > Width)
            {
                sb.Append(line).Append('\n');
                line.Clear().Append(rest);
                empty = true;
            }
            if (!empty) line.Append(' ');
            line.Append(word);
            empty = false;
        }
        sb.Append(line).Append('\n');
    }
}
