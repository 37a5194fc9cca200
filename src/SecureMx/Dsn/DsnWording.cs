using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// The words of a DSN's human-readable part and of its subject, in one language: <see cref="DsnText"/>
/// lays them out, a subclass per <see cref="MailLanguage"/> says them. Only the human-readable part
/// is translated; the machine-readable part (RFC 3464) is the same in every language.
/// </summary>
internal abstract class DsnWording
{
    public static DsnWording For(MailLanguage language) => language switch
    {
        MailLanguage.German => GermanDsnWording.Instance,
        _ => EnglishDsnWording.Instance,
    };

    /// <summary>The display name of MAILER-DAEMON in From.</summary>
    public abstract string FromName { get; }

    /// <summary>
    /// The Subject, named after the worst outcome reported (<see cref="DsnAction.Failed"/>, then
    /// <see cref="DsnAction.Delayed"/>, else a success); <paramref name="originalSubject"/> is the
    /// original message's subject when it could be read, cleaned and shortened.
    /// </summary>
    public abstract string Subject(DsnAction worst, string? originalSubject);

    /// <summary>The first sentence: who writes.</summary>
    public abstract string Greeting(string host);

    /// <summary>The sentence before the recipients of one kind of outcome.</summary>
    public abstract string Intro(DsnAction action);

    /// <summary>What the sender can do, after the recipients of one kind; null when there is nothing to say.</summary>
    /// <param name="onlyTls">Every failure is a TLS failure: the TLS advice follows instead.</param>
    public abstract string? Advice(DsnAction action, bool onlyTls);

    /// <summary>The line saying why one recipient failed or waits, with its status code.</summary>
    public abstract string Reason(DsnRecipientReport report);

    /// <summary>A further line for one recipient that failed or waits (e.g. our own technical text); null for none.</summary>
    public abstract string? Detail(DsnRecipientReport report);

    /// <summary>The remote server's reply, quoted as it came (cleaned of control characters only).</summary>
    public abstract string ServerAnswered(string? remoteMta, string diagnostic);

    /// <summary>A diagnostic that is not an SMTP reply.</summary>
    public abstract string Details(string diagnostic);

    public abstract string ReceivingServer(string remoteMta);

    public abstract string LastAttempt(DateTimeOffset at);

    /// <summary>The last line of a delayed recipient: how long delivery goes on.</summary>
    public abstract string KeepsTrying(DateTimeOffset? until);

    /// <summary>What mandatory TLS and DANE mean, after a TLS failure or delay.</summary>
    public abstract string TlsExplained { get; }

    /// <summary>What the sender can do about a TLS failure or delay.</summary>
    public abstract string TlsAdvice { get; }

    /// <summary>What else the DSN carries: the machine-readable report and the original or its headers.</summary>
    public abstract string Attached(DeliveryStatusNotification.Returned returned);

    /// <summary>When the original arrived and the queue id to quote to the postmaster.</summary>
    public abstract string Received(DateTimeOffset arrival, string queueId, string host);

    /// <summary>X.7.4 security features not supported, X.7.5 cryptographic failure (RFC 3463 §3.8): the TLS causes.</summary>
    public static bool IsTls(DsnRecipientReport r) => r.Status is { Subject: 7, Detail: 4 or 5 };
}
