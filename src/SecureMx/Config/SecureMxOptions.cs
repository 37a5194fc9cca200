namespace SecureMx.Config;

/// <summary>
/// The contents of <c>DIR/securemx.json</c>. Every key, its default and its meaning is listed in
/// docs/CONFIGURATION.md; keep both in step. Environment variables <c>SECUREMX__SECTION__KEY</c>
/// and <c>--section:key=value</c> on the serve command line override the file.
/// </summary>
public sealed class SecureMxOptions
{
    /// <summary>The host name in the greeting, EHLO reply, Received headers and the self-signed certificate.</summary>
    public string Hostname { get; set; } = "";

    /// <summary>
    /// Host name of the secure MX listener (its greeting, and the MX/TLSA records `securemx
    /// dns-records` prints); its certificate must carry this name. Empty: the same as hostname.
    /// </summary>
    public string SecureMxHostname { get; set; } = "";

    public string EffectiveSecureMxHostname() => SecureMxHostname.Length > 0 ? SecureMxHostname : Hostname;

    /// <summary>The name a listener goes by (greeting, and "by" in the Received header of what it accepted).</summary>
    public string HostnameFor(string listener) => listener == "secureMx" ? EffectiveSecureMxHostname() : Hostname;

    public ListenerOptions Listeners { get; set; } = new();

    /// <summary>The local DNSSEC-validating resolver (its AD flag is trusted): ADDR:PORT.</summary>
    public string Dns { get; set; } = "127.0.0.1:53";

    public TlsOptions Tls { get; set; } = new();

    public LimitOptions Limits { get; set; } = new();

    public DeliveryOptions Delivery { get; set; } = new();

    public LogOptions Logs { get; set; } = new();

    public QueueOptions Queue { get; set; } = new();

    public AuthOptions Auth { get; set; } = new();

    public DashboardOptions Dashboard { get; set; } = new();

    public MailAccessOptions MailAccess { get; set; } = new();

    public StoreOptions Store { get; set; } = new();

    public NodeOptions Node { get; set; } = new();

    public MtaStsOptions MtaSts { get; set; } = new();

    public TlsReportingOptions TlsReporting { get; set; } = new();

    public InboundAuthenticationOptions InboundAuthentication { get; set; } = new();
}

/// <summary>SPF, DKIM and DMARC of mail received on the MX listeners, reported in Authentication-Results (MailAuth/).</summary>
public sealed class InboundAuthenticationOptions
{
    /// <summary>Whether mail received on the MX listeners is authenticated and gets an Authentication-Results field.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time all DNS lookups of one message may take together; what is still open then is temperror.</summary>
    public int TimeBudgetSeconds { get; set; } = 12;

    /// <summary>The Public Suffix List for DMARC's organizational domains (Debian package publicsuffix).</summary>
    public string PublicSuffixList { get; set; } = "/usr/share/publicsuffix/public_suffix_list.dat";
}

/// <summary>
/// MTA-STS (RFC 8461): how recipient domains' policies are fetched (MtaSts/MtaStsPolicyFetcher), and the
/// policies SecureMx serves for its hosted domains on listeners.mtaSts.
/// </summary>
public sealed class MtaStsOptions
{
    /// <summary>
    /// Seconds one policy fetch may take in all (address lookup, connection, TLS, the answer and its
    /// body): RFC 8461 §3.3 suggests one minute, and policy hosts answer within it.
    /// </summary>
    public int FetchTimeoutSeconds { get; set; } = 60;

    /// <summary>HTTPS port of the policy hosts mta-sts.DOMAIN (443; other values only for test set-ups).</summary>
    public int PolicyPort { get; set; } = 443;

    /// <summary>max_age of the served policies (RFC 8461 §3.2: how long senders cache them; weeks are suggested).</summary>
    public string MaxAge { get; set; } = "1w";

    /// <summary>Where the policy host certificates lie: NAME.pem (chain, leaf first) and NAME.key per mta-sts.DOMAIN; relative to the data directory.</summary>
    public string CertificateDirectory { get; set; } = "tls/mta-sts";
}

/// <summary>
/// TLS reporting (RFC 8460) both ways: the daily aggregate reports SecureMx sends to recipient domains
/// that publish <c>_smtp._tls</c>, and the reports it receives for its hosted domains (Reporting/).
/// </summary>
public sealed class TlsReportingOptions
{
    /// <summary>Send a daily report to every recipient domain whose <c>_smtp._tls</c> record asks for one.</summary>
    public bool Send { get; set; } = true;

    /// <summary>organization-name of the reports sent (RFC 8460 §4.4); empty: the hostname.</summary>
    public string OrganizationName { get; set; } = "";

    /// <summary>contact-info of the reports sent, and the From: of the report mail; empty: tlsrpt-noreply@HOSTNAME.</summary>
    public string ContactInfo { get; set; } = "";

    /// <summary>
    /// Where the hosted domains receive reports (the rua= of the <c>_smtp._tls</c> record <c>dns-records</c>
    /// offers): "{domain}" stands for each hosted domain; a fixed address (at a hosted domain) serves all.
    /// </summary>
    public string ReportAddress { get; set; } = "tlsrpt@{domain}";

    /// <summary>Largest received report, as mail or HTTPS body (compressed), in bytes.</summary>
    public long MaxReportBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Largest received report's JSON once decompressed, in bytes (with at most 200× the compressed size: gzip bombs).</summary>
    public long MaxReportJsonBytes { get; set; } = 20 * 1024 * 1024;
}

/// <summary>
/// Where the store lives: empty = the embedded SQLite database in the data directory (one box);
/// <c>postgresql://USER@HOST:PORT/DB[?sslmode=…]</c> = a PostgreSQL database shared by several
/// nodes. The password is never in this file: <see cref="PasswordFile"/>, else the environment
/// (PGPASSWORD), else the user's <c>.pgpass</c> (PGPASSFILE).
/// </summary>
public sealed class StoreOptions
{
    public string ConnectionString { get; set; } = "";

    /// <summary>A file whose first line is the PostgreSQL password (relative paths: to the data directory).</summary>
    public string PasswordFile { get; set; } = "";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsShared => ConnectionString.Length > 0;
}

/// <summary>This node among several that share one store.</summary>
public sealed class NodeOptions
{
    /// <summary>The node's name in logs, queue summaries and Received headers. Empty: the host name of the machine.</summary>
    public string Name { get; set; } = "";

    public string EffectiveName() => Name.Length > 0 ? Name : System.Net.Dns.GetHostName();
}

/// <summary>
/// How mail clients read mail: the Dovecot listeners `securemx dovecot-config` configured, so the
/// dashboard and the autoconfig file can tell users which host, ports and security to use.
/// </summary>
public sealed class MailAccessOptions
{
    /// <summary>The host name mail clients connect to (IMAP, POP3 and submission). Empty: hostname.</summary>
    public string Host { get; set; } = "";
    /// <summary>IMAP with implicit TLS (993): ADDR:PORT Dovecot listens on, or "off" or empty when not offered.</summary>
    public string Imaps { get; set; } = "";
    /// <summary>IMAP with STARTTLS required (143): ADDR:PORT, "off" or empty.</summary>
    public string Imap { get; set; } = "";
    /// <summary>POP3 with implicit TLS (995): ADDR:PORT, "off" or empty.</summary>
    public string Pop3s { get; set; } = "";
    /// <summary>POP3 with STARTTLS required (110): ADDR:PORT, "off" or empty.</summary>
    public string Pop3 { get; set; } = "";

    public string EffectiveHost(SecureMxOptions options) => Host.Length > 0 ? Host : options.Hostname;
}

/// <summary>The self-service dashboard (listeners.dashboard is its endpoint).</summary>
public sealed class DashboardOptions
{
    /// <summary>Serve plain HTTP instead of HTTPS; allowed only on a loopback address (e.g. behind a local TLS proxy).</summary>
    public bool PlainHttp { get; set; }

    /// <summary>How long a login lasts without activity (sliding).</summary>
    public string SessionIdleTimeout { get; set; } = "30m";

    /// <summary>How long a login lasts at most, however active (absolute; enforced by the server's session record).</summary>
    public string SessionMaxLifetime { get; set; } = "12h";

    /// <summary>Strict-Transport-Security: "auto" (when served over HTTPS with a certificate that is not self-signed), "true" or "false".</summary>
    public string Hsts { get; set; } = "auto";

    /// <summary>Login attempts per client address and minute, right or wrong (beyond auth.maxFailuresPerIp, which counts failures).</summary>
    public int LoginAttemptsPerMinute { get; set; } = 10;
}

/// <summary>Retry and expiry of queued mail. Durations: "30s", "5m", "1h", "5d" (see Config/Duration.cs).</summary>
public sealed class QueueOptions
{
    /// <summary>Intervals after the 1st, 2nd, … failed attempt; afterwards maxRetryInterval.</summary>
    public string RetrySchedule { get; set; } = "5m,10m,20m,40m";
    /// <summary>The longest interval between two attempts.</summary>
    public string MaxRetryInterval { get; set; } = "1h";
    /// <summary>Random spread of each interval, as a fraction (0.2 = ±20 %).</summary>
    public double RetryJitter { get; set; } = 0.2;
    /// <summary>A sender whose message is still undelivered after this long gets one delay DSN.</summary>
    public string DelayWarningAfter { get; set; } = "1h";
    /// <summary>Undelivered recipients fail (and the sender gets a failure DSN) after this long.</summary>
    public string ExpireAfter { get; set; } = "5d";
    /// <summary>Expiry for recipients deferred only because a TLS requirement could not be met.</summary>
    public string TlsExpireAfter { get; set; } = "24h";
}

/// <summary>Client submission logins (AUTH on the submission listeners).</summary>
public sealed class AuthOptions
{
    /// <summary>How long a failed login waits before its 535 reply (slows down guessing within a session).</summary>
    public string FailureDelay { get; set; } = "2s";
    /// <summary>The window in which failed logins are counted; a block lasts until old failures leave it.</summary>
    public string FailureWindow { get; set; } = "15m";
    /// <summary>Failed logins from one client IP address within the window before its logins are refused with 454 4.7.0.</summary>
    public int MaxFailuresPerIp { get; set; } = 10;
    /// <summary>Failed logins for one account name within the window before its logins are refused (except from addresses it recently logged in from).</summary>
    public int MaxFailuresPerAccount { get; set; } = 5;
}

public sealed class LogOptions
{
    /// <summary>Days the inbound session log is kept (the readiness preview reads the last 30). Pruned daily.</summary>
    public int RetentionDays { get; set; } = 90;
}

public sealed class ListenerOptions
{
    /// <summary>Inbound MX (port 25 in production): opportunistic STARTTLS.</summary>
    public string Mx { get; set; } = "127.0.0.1:2525";
    /// <summary>Secure MX: strict TLS required before MAIL (not started yet: a later issue).</summary>
    public string SecureMx { get; set; } = "127.0.0.1:2526";
    /// <summary>Submission with STARTTLS required before AUTH and MAIL (RFC 6409), port 587 in production.</summary>
    public string Submission { get; set; } = "127.0.0.1:2587";
    /// <summary>Submission with implicit TLS (RFC 8314), port 465 in production.</summary>
    public string Submissions { get; set; } = "127.0.0.1:2465";
    /// <summary>Self-service dashboard, HTTPS (not started yet).</summary>
    public string Dashboard { get; set; } = "127.0.0.1:8443";
    /// <summary>Where Dovecot's authentication policy requests arrive (plain HTTP, loopback only); off unless `dovecot-config` set it.</summary>
    public string DovecotPolicy { get; set; } = "off";
    /// <summary>
    /// Prometheus /metrics and the load balancer's /health and /health/live, plain HTTP (a loopback
    /// address or the scraper's private network: nothing on it is secret or changes state); off by default.
    /// </summary>
    public string Metrics { get; set; } = "off";
    /// <summary>HTTPS for the hosted domains' MTA-STS policies (https://mta-sts.DOMAIN/.well-known/mta-sts.txt, port 443 in production); off by default.</summary>
    public string MtaSts { get; set; } = "off";
}

public sealed class TlsOptions
{
    /// <summary>PEM certificate chain (leaf first); relative paths are relative to the data directory.</summary>
    public string Certificate { get; set; } = "tls/cert.pem";
    /// <summary>PEM private key of the certificate.</summary>
    public string Key { get; set; } = "tls/key.pem";
    /// <summary>TLS profile of the MX listener: opportunistic (OpenSSL defaults) or strict.</summary>
    public string MxProfile { get; set; } = "opportunistic";
}

public sealed class LimitOptions
{
    /// <summary>Largest accepted message in bytes (advertised with SIZE, enforced while streaming).</summary>
    public long MaxMessageSize { get; set; } = 50 * 1024 * 1024;
    /// <summary>Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks for at least 100).</summary>
    public int MaxRecipients { get; set; } = 100;
    /// <summary>Concurrent SMTP connections over all listeners.</summary>
    public int MaxConnections { get; set; } = 500;
    /// <summary>Concurrent SMTP connections from one client IP address.</summary>
    public int MaxConnectionsPerIp { get; set; } = 50;
    /// <summary>Longest command line in octets, without CRLF (RFC 5321 §4.5.3.1.4 gives 512; extensions add).</summary>
    public int MaxCommandLineLength { get; set; } = 2048;
    /// <summary>Seconds to wait for the next command (RFC 5321 §4.5.3.2.7: at least 5 minutes).</summary>
    public int CommandTimeoutSeconds { get; set; } = 300;
    /// <summary>Seconds to wait for the next block of DATA/BDAT content (RFC 5321 §4.5.3.2.6: 3 minutes).</summary>
    public int DataTimeoutSeconds { get; set; } = 180;
    /// <summary>
    /// Seconds one message's transfer may take in all (DATA content, or every BDAT chunk of one
    /// message); 0: no limit. Bounds DATA-phase slowloris, which the stall timeout alone does not.
    /// </summary>
    public int MaxTransferSeconds { get; set; } = 600;
    /// <summary>
    /// After the first minute of a transfer, the average rate in octets per second below which it is
    /// cut; 0: no minimum. 1000 is an eighth of a 64 kbit/s link.
    /// </summary>
    public int MinTransferBytesPerSecond { get; set; } = 1000;
    /// <summary>Error replies in one session before it is closed with 421 (Postfix's smtpd_hard_error_limit).</summary>
    public int MaxErrors { get; set; } = 20;
    /// <summary>Seconds allowed for a TLS handshake.</summary>
    public int TlsHandshakeTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// On an implicit-TLS listener, seconds to wait for the client's first bytes (a TLS ClientHello,
    /// which a TLS client sends at once). A plaintext SMTP client waits for a greeting instead and is
    /// let go after this time, not after the whole handshake timeout.
    /// </summary>
    public int TlsClientHelloTimeoutSeconds { get; set; } = 10;
    /// <summary>On shutdown, seconds a session still receiving a message gets to finish it.</summary>
    public int ShutdownGraceSeconds { get; set; } = 20;
    /// <summary>
    /// Free space (MiB) the spool's file system keeps: below it MAIL FROM gets 452 4.3.1 (Postfix's
    /// queue_minfree). The floor is this or 5 % of the file system, whichever is smaller; 0 turns it off.
    /// </summary>
    public long MinFreeDiskMb { get; set; } = 512;
}

public sealed class DeliveryOptions
{
    /// <summary>
    /// Concurrent local deliveries: Maildir writes, or connections to the LMTP server when delivery.lmtp is set.
    /// 16: each Maildir delivery mostly waits for fsyncs (the file, new/, the queue commit), which concurrent
    /// deliveries share; with 4 the Maildir fell behind reception (end to end 56–72 % of the accept rate at
    /// 20 sessions, 100 % with 16). Each Maildir delivery holds a thread-pool thread while it waits, so `serve` makes
    /// room in the pool for this many (<see cref="Hosting.ThreadPoolHeadroom"/>).
    /// </summary>
    public int LocalConcurrency { get; set; } = 16;
    /// <summary>
    /// The mailbox server's LMTP service (RFC 2033) that hosted mailboxes are delivered through:
    /// <c>unix:/path/to/socket</c>, <c>HOST:PORT</c> or <c>[IPv6]:PORT</c> (<see cref="LmtpTarget"/>).
    /// Empty: SecureMx writes the Maildirs itself.
    /// </summary>
    public string Lmtp { get; set; } = "";
    /// <summary>Seconds before a failed local delivery (disk full, permissions, LMTP server unavailable) is retried.</summary>
    public int LocalRetrySeconds { get; set; } = 60;
    /// <summary>
    /// Local address for outgoing SMTP connections of its family (IPv4 or IPv6); empty lets the system choose.
    /// Connections of the other family are not affected (<see cref="SourceAddress6"/>).
    /// </summary>
    public string SourceAddress { get; set; } = "";
    /// <summary>Local IPv6 address for outgoing SMTP connections over IPv6, next to an IPv4 <see cref="SourceAddress"/>; empty: see SourceAddress.</summary>
    public string SourceAddress6 { get; set; } = "";
    /// <summary>TCP port of remote MX hosts (25; other values only for test set-ups).</summary>
    public int SmtpPort { get; set; } = 25;
    /// <summary>
    /// A PEM file of CA certificates trusted in addition to the system's wherever a certificate is
    /// verified by PKIX: level verify, MTA-STS MX hosts and MTA-STS policy hosts (Tls/PkixTrust).
    /// Empty: the system's CAs only. For private deployments and the tests' private CA.
    /// </summary>
    public string TrustAnchorsFile { get; set; } = "";
    /// <summary>Seconds allowed to connect and to complete a TLS handshake with a remote server.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 30;
    /// <summary>Seconds allowed for one whole mail transaction with a remote server.</summary>
    public int TransactionTimeoutSeconds { get; set; } = 600;
    /// <summary>Concurrent remote deliveries over all destinations (Postfix's default_process_limit).</summary>
    public int RemoteConcurrency { get; set; } = 100;
    /// <summary>
    /// Concurrent remote deliveries to one destination domain (Postfix's default_destination_concurrency_limit):
    /// a queue backlog for one domain drains over this many reused connections.
    /// </summary>
    public int DestinationConcurrency { get; set; } = 20;
    /// <summary>Mail transactions one outgoing connection carries before it is closed (1: a connection per message).</summary>
    public int ConnectionReuseLimit { get; set; } = 1000;
    /// <summary>Seconds an outgoing connection waits idle for the next message to the same server (0: none kept).</summary>
    public int ConnectionIdleSeconds { get; set; } = 5;
    /// <summary>
    /// Seconds a destination domain stays suspended after none of its MX hosts could be reached (refused, timed
    /// out, no greeting): its mail is deferred without new connections meanwhile, as Postfix does with a dead
    /// destination (Delivery/Remote/UnreachableDestinations). 0: every message tries every host.
    /// </summary>
    public int UnreachableSuspendSeconds { get; set; } = 60;
    /// <summary>Subaddress separator: mail to user+tag@domain goes to user@domain. Empty turns it off.</summary>
    public string RecipientDelimiter { get; set; } = "+";
    /// <summary>
    /// The outbound TLS level of a recipient domain without an entry in the destination table (an
    /// entry replaces it, in either direction): none, may, dane, encrypt, dane-only or verify
    /// (docs/ARCHITECTURE.md, "Policy model").
    /// Sender domains and accounts with mandatory TLS raise it to encrypt.
    /// </summary>
    public string DefaultTlsLevel { get; set; } = "dane";
    /// <summary>Where postmaster@ of a hosted domain goes when that domain has no such mailbox or alias:
    /// a hosted mailbox address, or empty for the instance's own Maildir DIR/mail/postmaster.</summary>
    public string Postmaster { get; set; } = "";
    /// <summary>Mode of the message files SecureMx writes into Maildirs (octal); the Maildir directories get x wherever it has r. Nothing for others.</summary>
    public string MailFileMode { get; set; } = MailFileAccess.DefaultFileMode;
    /// <summary>Group given to those files and directories (the service user must be a member); empty: the process's own group.</summary>
    public string MailGroup { get; set; } = "";
}
