using System.Text;

namespace SecureMx.Dsn;

/// <summary>
/// The human-readable first part of a DSN (RFC 6522 §3): per kind of outcome, which recipients, why, what the
/// receiving server answered, and what the sender can do. Short paragraphs, one recipient per paragraph, in
/// the language of the request (<see cref="DsnRequest.Language"/>); the words come from <see cref="DsnWording"/>.
/// </summary>
internal static class DsnText
{
    private const int Width = 76;
    private const string Indent = "  ";

    /// <summary>The kinds of outcome in the order the text reports them.</summary>
    private static readonly DsnAction[] Order = [DsnAction.Failed, DsnAction.Delayed, DsnAction.Delivered, DsnAction.Relayed, DsnAction.Expanded];

    public static string Compose(DsnRequest request, string host, DeliveryStatusNotification.Returned returned)
    {
        var words = DsnWording.For(request.Language);
        var sb = new StringBuilder();
        sb.Append(words.Greeting(host)).Append("\n\n");

        // TLS failures get their own advice below; "check the address" would only mislead.
        bool onlyTls = request.Recipients.Where(r => r.Action == DsnAction.Failed).All(DsnWording.IsTls);
        foreach (var action in Order) Section(sb, words, request, action, onlyTls);

        // Deferred or failed because of a TLS requirement (RFC 3463 X.7.4, X.7.5): say what the requirement is and what the sender can do.
        if (request.Recipients.Any(r => r.Action is DsnAction.Failed or DsnAction.Delayed && DsnWording.IsTls(r)))
        {
            Paragraph(sb, "", words.TlsExplained);
            Paragraph(sb, "", words.TlsAdvice);
        }

        Paragraph(sb, "", words.Attached(returned));
        Paragraph(sb, "", words.Received(request.ArrivalDate, DeliveryStatusNotification.Clean(request.QueueId), host));
        // One line break at the end, not an empty line before the next boundary.
        return sb.ToString().TrimEnd('\n') + "\n";
    }

    private static void Section(StringBuilder sb, DsnWording words, DsnRequest request, DsnAction action, bool onlyTls)
    {
        var reports = request.Recipients.Where(r => r.Action == action).ToList();
        if (reports.Count == 0) return;
        Paragraph(sb, "", words.Intro(action));
        foreach (var r in reports)
        {
            sb.Append(Indent).Append('<').Append(DeliveryStatusNotification.Clean(r.FinalRecipient)).Append(">\n");
            bool unfinished = action is DsnAction.Failed or DsnAction.Delayed;
            if (unfinished)
            {
                Line(sb, words.Reason(r));
                if (words.Detail(r) is { } detail) Line(sb, detail);
            }
            if (!string.IsNullOrWhiteSpace(r.DiagnosticCode))
            {
                var diagnostic = DeliveryStatusNotification.Clean(r.DiagnosticCode);
                var remote = string.IsNullOrWhiteSpace(r.RemoteMta) ? null : DeliveryStatusNotification.Clean(r.RemoteMta);
                Line(sb, r.DiagnosticType.Equals("smtp", StringComparison.OrdinalIgnoreCase)
                    ? words.ServerAnswered(remote, diagnostic)
                    : words.Details(diagnostic));
            }
            else if (!string.IsNullOrWhiteSpace(r.RemoteMta))
            {
                Line(sb, words.ReceivingServer(DeliveryStatusNotification.Clean(r.RemoteMta)));
            }
            if (r.LastAttemptDate is { } last && unfinished) Line(sb, words.LastAttempt(last));
            if (action == DsnAction.Delayed) Line(sb, words.KeepsTrying(r.WillRetryUntil));
            sb.Append('\n');
        }
        if (words.Advice(action, onlyTls) is { } advice) Paragraph(sb, "", advice);
    }

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
