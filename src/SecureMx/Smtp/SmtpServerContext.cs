using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Smtp;

/// <summary>What every SMTP session of the process shares.</summary>
public sealed class SmtpServerContext(
    SecureMxOptions options,
    MessageSpool spool,
    InboundRecipientPolicy recipients,
    InboundSessionLog sessionLog,
    IMessageArrivalSink arrivals,
    SslStreamCertificateContextHolder? certificate,
    AccountAuthenticator authenticator,
    SenderOwnershipPolicy senders,
    TimeProvider time,
    ILoggerFactory loggers)
{
    public SecureMxOptions Options { get; } = options;
    public LimitOptions Limits => Options.Limits;
    public string Hostname => Options.Hostname;
    public MessageSpool Spool { get; } = spool;
    public InboundRecipientPolicy Recipients { get; } = recipients;
    public InboundSessionLog SessionLog { get; } = sessionLog;
    public IMessageArrivalSink Arrivals { get; } = arrivals;
    public SslStreamCertificateContextHolder? Certificate { get; } = certificate;
    public AccountAuthenticator Authenticator { get; } = authenticator;
    public SenderOwnershipPolicy Senders { get; } = senders;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("SecureMx.Smtp");
}

/// <summary>
/// One listener's personality. <see cref="RequireTls"/>: nothing but EHLO, STARTTLS, NOOP, RSET and
/// QUIT before TLS (530 5.7.0). <see cref="ImplicitTls"/>: TLS from the first byte (RFC 8314).
/// <see cref="Submission"/>: clients log in (AUTH after TLS only), must do so before MAIL, may send
/// only as themselves, and may send to any domain (RFC 6409). <see cref="Hostname"/>: the name in the
/// greeting and EHLO reply when not the instance's.
/// </summary>
public sealed record ListenerSettings(string Name, TlsProfile TlsProfile, bool RequireTls = false, bool ImplicitTls = false, bool Submission = false, string? Hostname = null)
{
    public static ListenerSettings Mx(TlsProfile profile) => new("mx", profile);

    /// <summary>The secure MX (DESIGN.md §1): strict TLS before anything else, under its own host name.</summary>
    public static ListenerSettings SecureMx(string hostname) => new("secureMx", TlsProfile.Strict, RequireTls: true, Hostname: hostname);

    public static ListenerSettings SubmissionStartTls => new("submission", TlsProfile.Strict, RequireTls: true, Submission: true);

    public static ListenerSettings SubmissionImplicitTls => new("submissions", TlsProfile.Strict, RequireTls: true, ImplicitTls: true, Submission: true);
}

/// <summary>Told about every committed message, so the queue can deliver it without polling.</summary>
public interface IMessageArrivalSink
{
    void MessageArrived(string messageId);
}
