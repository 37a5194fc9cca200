using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dns;
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
    SessionLogRepository sessionLog,
    IMessageArrivalSink arrivals,
    ServerCertificateSource certificates,
    AccountAuthenticator authenticator,
    SenderOwnershipPolicy senders,
    TimeProvider time,
    ILoggerFactory loggers)
{
    public SecureMxOptions Options { get; } = options;
    /// <summary>The limits for a session starting now: a reload swaps the whole object (see Hosting/InstanceReloader); each session keeps the one it started with.</summary>
    public LimitOptions Limits => Options.Limits;
    public string Hostname => Options.Hostname;
    public MessageSpool Spool { get; } = spool;
    public InboundRecipientPolicy Recipients { get; } = recipients;
    public SessionLogRepository SessionLog { get; } = sessionLog;
    public IMessageArrivalSink Arrivals { get; } = arrivals;
    /// <summary>Where DATA and BDAT hand their messages to the spool.</summary>
    public MessageAcceptor Acceptor { get; } = new(spool, arrivals, time, loggers.CreateLogger("SecureMx.Spool"));
    /// <summary>The instance's certificate pair, which a renewal may replace while the server runs.</summary>
    public ServerCertificateSource Certificates { get; } = certificates;
    /// <summary>The pair for the next TLS handshake; a session in TLS keeps the one its handshake used.</summary>
    public SslStreamCertificateContextHolder? Certificate => Certificates.Current;
    public AccountAuthenticator Authenticator { get; } = authenticator;
    public SenderOwnershipPolicy Senders { get; } = senders;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("SecureMx.Smtp");
    /// <summary>
    /// The validating resolver that names a client refused for inbound mandatory TLS (its forward-confirmed
    /// reverse name, for the refused-mail report); null: not looked up. Set once when the server is wired.
    /// </summary>
    public IMailDnsResolver? ReverseDns { get; set; }
    /// <summary>Signs the mail of logged-in accounts before it is queued (DKIM); null: no signing. Set once when the server is wired.</summary>
    public Dkim.SubmissionSigner? Signer { get; set; }

    /// <summary>
    /// SPF, DKIM and DMARC for mail received on the MX listeners (not submission); null: no
    /// authentication, no Authentication-Results. Set once when the server is wired.
    /// </summary>
    public MailAuth.InboundAuthenticator? MailAuthentication { get; set; }

    /// <summary>
    /// Whether a hosted domain refuses mail that fails DMARC under p=reject (`securemx policy dmarc`); null:
    /// no domain enforces. May throw when the store cannot be read (the message is then accepted).
    /// </summary>
    public Func<string, bool>? EnforcesDmarc { get; set; }
}
