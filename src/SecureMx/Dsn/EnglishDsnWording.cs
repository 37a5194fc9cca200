using MimeKit.Utils;
using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// The DSN in plain, short English: the default for every account that did not choose German and for
/// every sender that is not hosted here. Dates as in the header fields (RFC 5322 §3.3). The reason
/// line quotes SecureMx's own explanation of the outcome when there is one.
/// </summary>
internal sealed class EnglishDsnWording : DsnWording
{
    public static readonly EnglishDsnWording Instance = new();

    public override string FromName => "Mail Delivery System";

    public override string Subject(DsnAction worst, string? originalSubject) => "Delivery Status Notification " + worst switch
    {
        DsnAction.Failed => "(Failure)",
        DsnAction.Delayed => "(Delay)",
        _ => "(Success)",
    };

    public override string Greeting(string host) => $"This is the mail system at host {host}.";

    public override string Intro(DsnAction action) => action switch
    {
        DsnAction.Failed => "Your message could not be delivered to the recipients below. No further delivery attempts will be made.",
        DsnAction.Delayed => "Your message has not been delivered yet to the recipients below. SecureMx is still trying; you do not need to do anything.",
        DsnAction.Delivered => "Your message was delivered to the recipients below.",
        DsnAction.Relayed => "Your message was passed on to the recipients below through a system that does not send delivery " +
            "notifications, so no further notice about them will follow.",
        DsnAction.Expanded => "Your message was delivered to the addresses below, which forward it to further recipients (an alias " +
            "or a mailing list); no further notice about them will follow.",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    public override string? Advice(DsnAction action, bool onlyTls) => action switch
    {
        DsnAction.Failed when !onlyTls =>
            "What you can do: check each address for typing errors and send the message again. If an address is " +
            "correct, the problem lies with the receiving system: reach the recipient another way (another " +
            "address, phone) and pass on the reason given above.",
        DsnAction.Delayed => "If the message still cannot be delivered by then, you will receive a final notice.",
        _ => null,
    };

    public override string Reason(DsnRecipientReport report)
    {
        var why = report.Explanation is { } e && !string.IsNullOrWhiteSpace(e) ? DeliveryStatusNotification.Clean(e) : DefaultExplanation(report.Status);
        return $"Reason: {why.TrimEnd('.')} (status {report.Status}).";
    }

    /// <summary>The reason line already quotes the explanation.</summary>
    public override string? Detail(DsnRecipientReport report) => null;

    public override string ServerAnswered(string? remoteMta, string diagnostic) =>
        (remoteMta is null ? "The receiving server answered: " : $"The server {remoteMta} answered: ") + diagnostic;

    public override string Details(string diagnostic) => "Details: " + diagnostic;

    public override string ReceivingServer(string remoteMta) => "Receiving server: " + remoteMta;

    public override string LastAttempt(DateTimeOffset at) => "Last attempt: " + DateUtils.FormatDate(at);

    public override string KeepsTrying(DateTimeOffset? until) => until is { } u
        ? $"SecureMx will keep trying until {DateUtils.FormatDate(u)}; no action needed."
        : "SecureMx will keep trying; no action needed.";

    public override string TlsExplained =>
        "About TLS: this message may only be handed over encrypted, with TLS 1.2 or newer and secure " +
        "ciphers — because mandatory TLS is switched on for your account or your domain — or, where the " +
        "recipient's domain publishes DANE (TLSA) records or an MTA-STS policy, only to a server that proves its identity with them. " +
        "The receiving servers named above did not offer that, so SecureMx did not send the message, and it " +
        "never sends such a message unencrypted.";

    public override string TlsAdvice =>
        "What you can do: if this message may travel without that protection, switch mandatory TLS off " +
        "for your account or domain (in the dashboard, or ask your mail administrator) and send it again; or reach " +
        "the recipient another way, and let them know that their mail server does not offer secure TLS. Switching " +
        "helps only when mandatory TLS is on for you: a DANE (TLSA) mismatch or lookup error, or a server that does not " +
        "meet the recipient domain's MTA-STS policy, can only be fixed by the recipient's mail administrators.";

    public override string Attached(DeliveryStatusNotification.Returned returned) =>
        "The same report in machine-readable form (RFC 3464) is attached" + returned switch
        {
            DeliveryStatusNotification.Returned.Full => ", followed by your message",
            DeliveryStatusNotification.Returned.Headers => ", followed by the headers of your message",
            _ => "",
        } + ".";

    public override string Received(DateTimeOffset arrival, string queueId, string host) =>
        $"Your message was received on {DateUtils.FormatDate(arrival)} with queue ID {queueId}. " +
        $"Quote this ID if you contact the postmaster of {host}.";

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
        (7, 30) => "the message requires REQUIRETLS, and no receiving server offered authenticated TLS with REQUIRETLS",
        (7, _) => "the receiving system refused the message for security or policy reasons",
        _ => status.Class switch
        {
            5 => "the receiving system refused the message permanently",
            4 => "a temporary problem prevented delivery",
            _ => "delivered",
        },
    };
}
