using System.Diagnostics.Metrics;

namespace SecureMx.Telemetry;

/// <summary>
/// The process's instruments: one <see cref="Meter"/> named <c>SecureMx</c>, read today with
/// <c>dotnet-counters monitor --counters SecureMx -p PID</c> and by tests with a
/// <see cref="MeterListener"/>. Every instrument is declared here, so that this file is the list of
/// what SecureMx measures; the stage that observes a fact records it. Names follow the OpenTelemetry
/// convention (<c>securemx.&lt;area&gt;.&lt;what&gt;</c>, lower case, dots).
/// </summary>
public static class SecureMxMetrics
{
    public const string MeterName = "SecureMx";

    public static readonly Meter Meter = new(MeterName);

    /// <summary>
    /// SMTP command lines (and AUTH responses) refused for a bare CR or LF or a NUL, each refused as a
    /// whole up to its real CRLF: a steady count is a broken client, a burst an injection or smuggling probe.
    /// </summary>
    public static readonly Counter<long> SmtpMalformedLines =
        Meter.CreateCounter<long>("securemx.smtp.malformed_lines", unit: "{line}", description: "SMTP command lines refused for a bare CR, bare LF or NUL");

    /// <summary>Message transfers (DATA or BDAT) cut for taking longer than limits.maxTransferSeconds or going slower than limits.minTransferBytesPerSecond.</summary>
    public static readonly Counter<long> SmtpTransfersCut =
        Meter.CreateCounter<long>("securemx.smtp.transfers_cut", unit: "{transfer}", description: "SMTP message transfers cut by the transfer time limits");

    /// <summary>
    /// Bytes free (for an unprivileged user) on the spool's file system, as the free-space guard last
    /// measured it (at most every 2 s, when a MAIL FROM or the dashboard asks; limits.minFreeDiskMb > 0).
    /// </summary>
    public static readonly Gauge<long> SpoolFreeBytes = Meter.CreateGauge<long>("securemx.spool.free_bytes", "By",
        "Free bytes on the spool's file system at the last measurement");

    /// <summary>1 while the spool's file system is below its free-space floor (new mail refused at MAIL FROM with 452 4.3.1), else 0.</summary>
    public static readonly Gauge<int> SpoolBelowFreeFloor = Meter.CreateGauge<int>("securemx.spool.below_free_floor", null,
        "1 while the spool's file system is below limits.minFreeDiskMb and new mail is refused");

    /// <summary>
    /// Outbound STARTTLS that a server offered and that gave no TLS session. Tags: <c>reason</c>
    /// (handshake, timeout, refused, connection, protocol) and <c>then</c> (plaintext: a new
    /// plaintext connection under an opportunistic level; skipped: the host was passed over because
    /// TLS was required).
    /// </summary>
    public static readonly Counter<long> StartTlsFailures =
        Meter.CreateCounter<long>("securemx.delivery.starttls_failures", "{handshake}", "STARTTLS offered by a remote server that gave no TLS session");

    /// <summary>
    /// MX hosts that failed (mode enforce: skipped) or would have failed (mode testing: delivered anyway)
    /// a recipient domain's MTA-STS policy, and policies announced but not to be had (RFC 8461 §5).
    /// Tags: <c>mode</c> (enforce, testing; none for a policy that could not be fetched) and <c>result</c>
    /// (the RFC 8460 result type: starttls-not-supported, certificate-host-mismatch, certificate-expired,
    /// certificate-not-trusted, validation-failure, sts-policy-fetch-error).
    /// </summary>
    public static readonly Counter<long> MtaStsFailures =
        Meter.CreateCounter<long>("securemx.delivery.mta_sts_failures", "{failure}", "MX hosts that failed or would fail a recipient domain's MTA-STS policy, and policies that could not be fetched");

    /// <summary>
    /// Outbound TLS sessions below the strict profile (TLS 1.0/1.1, CBC, RSA key exchange), taken
    /// under an opportunistic level because any encryption beats none (RFC 7435). Tag: <c>protocol</c>.
    /// </summary>
    public static readonly Counter<long> WeakTlsSessions =
        Meter.CreateCounter<long>("securemx.delivery.weak_tls_sessions", "{session}", "outbound TLS sessions below the strict profile");

    /// <summary>
    /// Inbound TLS sessions below the strict profile, which only the MX listener's opportunistic
    /// profile accepts (the secure MX and submission stay strict). Tags: <c>listener</c>, <c>protocol</c>.
    /// </summary>
    public static readonly Counter<long> InboundWeakTlsSessions =
        Meter.CreateCounter<long>("securemx.smtp.weak_tls_sessions", "{session}", "inbound TLS sessions below the strict profile");

    // Issue 14 (metrics and health): the series an operator's Prometheus alerts on. Tags are small,
    // fixed vocabularies (never an address or a host name), so that no series set grows with traffic.

    /// <summary>TCP connections accepted by an SMTP listener, refused ones included. Tag: <c>listener</c> (mx, secureMx, submission, submissions).</summary>
    public static readonly Counter<long> SmtpConnections =
        Meter.CreateCounter<long>("securemx.smtp.connections", "{connection}", "SMTP connections accepted by a listener");

    /// <summary>
    /// Connections, senders and recipients an SMTP listener refused, by <c>reason</c>:
    /// connection_limit and ip_connection_limit (421 at connect), tls_required (MAIL or RCPT before
    /// STARTTLS where TLS is required), auth_required (MAIL on submission without AUTH), relay (554
    /// relay access denied), mandatory_tls (a domain with mandatory inbound TLS outside a secure TLS
    /// session), unknown_recipient (550 user unknown), tls_report_size (552: a SIZE= above
    /// tlsReporting.maxReportBytes to the TLS report address), storage (452 below the free-space floor or a
    /// failed store), store_unavailable (451 4.3.0 at MAIL or RCPT, 454 4.7.0 at AUTH: the store
    /// could not be read), dmarc (550 5.7.1 after DATA: DMARC fails under p=reject and every recipient's
    /// domain enforces it). Tag <c>listener</c> as well.
    /// </summary>
    public static readonly Counter<long> SmtpRefused =
        Meter.CreateCounter<long>("securemx.smtp.refused", "{refusal}", "SMTP connections, senders and recipients refused, by reason");

    /// <summary>
    /// Failed accept(2) calls on a listener, tags <c>listener</c> and <c>error</c> (the socket error: <c>TooManyOpenSockets</c>
    /// for EMFILE and ENFILE, <c>NoBufferSpaceAvailable</c>): while they last, new connections wait unanswered.
    /// </summary>
    public static readonly Counter<long> SmtpAcceptFailures =
        Meter.CreateCounter<long>("securemx.smtp.accept_failures", "{failure}", "Failed accepts of SMTP connections (out of descriptors or memory)");

    /// <summary>Messages accepted (250 after DATA or BDAT LAST: durable in the spool). Tag: <c>listener</c>.</summary>
    public static readonly Counter<long> SmtpMessagesAccepted =
        Meter.CreateCounter<long>("securemx.smtp.messages_accepted", "{message}", "messages accepted into the spool");

    /// <summary>
    /// Delivery attempts per recipient. Tags: <c>result</c> (delivered, deferred, failed) and <c>tls</c>
    /// (local for a Maildir or LMTP delivery; none, encrypted, dane or verified for the session with the
    /// remote server; starttls-failed for a plaintext retry after a failed STARTTLS).
    /// </summary>
    public static readonly Counter<long> DeliveryAttempts =
        Meter.CreateCounter<long>("securemx.delivery.attempts", "{recipient}", "recipient delivery attempts by result and TLS");

    /// <summary>Delivery status notifications spooled to a sender. Tag: <c>action</c> (failed, delayed, delivered, relayed; RFC 3464 §2.3.3).</summary>
    public static readonly Counter<long> DsnsSent =
        Meter.CreateCounter<long>("securemx.dsn.sent", "{dsn}", "delivery status notifications spooled");

    /// <summary>
    /// TLS reports (RFC 8460) handed on per reporting URI. Tags: <c>method</c> (mailto: spooled, https: posted),
    /// <c>result</c> (sent, failed).
    /// </summary>
    public static readonly Counter<long> TlsReportsSent =
        Meter.CreateCounter<long>("securemx.tlsrpt.sent", "{report}", "TLS reports spooled or posted, by method and result");

    /// <summary>
    /// DNS questions to the validating resolver that had no usable answer (SERVFAIL and other RCODEs,
    /// timeout, resolver unreachable: a temporary failure for the recipient). Tags: <c>type</c> (mx, a,
    /// aaaa, tlsa), <c>reason</c> (servfail, refused, timeout, unreachable, other).
    /// </summary>
    public static readonly Counter<long> DnsFailures =
        Meter.CreateCounter<long>("securemx.dns.failures", "{query}", "DNS questions without a usable answer");

    /// <summary>
    /// Failed or refused logins. Tags: <c>service</c> (smtp for AUTH on submission, dashboard, imap,
    /// pop3 through Dovecot's policy requests) and <c>result</c> (failed: wrong name or password;
    /// blocked: refused by the failure throttle before any password check).
    /// </summary>
    public static readonly Counter<long> LoginFailures =
        Meter.CreateCounter<long>("securemx.auth.login_failures", "{login}", "failed and blocked logins");

    /// <summary>
    /// Group commits of the queue database's writer, by <c>synced</c>: <c>true</c> one WAL fsync each,
    /// <c>false</c> only delivery outcomes and removals, not fsync'd on their own (Spool/QueueDatabase). With
    /// <see cref="QueueCommittedOperations"/> the mean batch size: how many messages, outcomes and removals share one commit.
    /// </summary>
    public static readonly Counter<long> QueueCommits =
        Meter.CreateCounter<long>("securemx.queue.commits", "{commit}", "group commits of the queue database");

    /// <summary>Operations (a message accepted, delivery outcomes recorded, a message removed) committed by <see cref="QueueCommits"/>.</summary>
    public static readonly Counter<long> QueueCommittedOperations =
        Meter.CreateCounter<long>("securemx.queue.committed_operations", "{operation}", "queue database operations committed");

    /// <summary>Recipients waiting in the queue, by <c>state</c> (queued: never tried; deferred: tried, to be retried). From <see cref="QueueGauges"/>.</summary>
    public static readonly ObservableGauge<long> QueueRecipients =
        Meter.CreateObservableGauge("securemx.queue.recipients", QueueGauges.ObserveRecipients, "{recipient}", "recipients waiting in the queue by state");

    /// <summary>Deferred recipients by the class of their last failure (<c>reason</c>: dns, connection, remote-reply, tls-requirement, …, as `securemx queue list` names them; every class is reported, 0 included).</summary>
    public static readonly ObservableGauge<long> QueueDeferred =
        Meter.CreateObservableGauge("securemx.queue.deferred", QueueGauges.ObserveDeferred, "{recipient}", "deferred recipients by reason class");

    /// <summary>Age of the oldest message with a deferred recipient (since it was received); 0 when none is deferred.</summary>
    public static readonly ObservableGauge<double> QueueOldestDeferredAge =
        Meter.CreateObservableGauge("securemx.queue.oldest_deferred_age", QueueGauges.ObserveOldestDeferredAge, "s", "age of the oldest message with a deferred recipient");

    /// <summary>
    /// Loads of the directory cache's snapshot (several nodes on one PostgreSQL store: at a change
    /// notification, after the feed reconnects, and every minute). Tag: <c>result</c> (ok, failed —
    /// the store could not be read and the last good snapshot stays in use).
    /// </summary>
    public static readonly Counter<long> DirectoryReloads =
        Meter.CreateCounter<long>("securemx.store.directory_reloads", "{load}", "loads of the directory cache's snapshot by result");

    /// <summary>Seconds since the directory snapshot in use was loaded: grows while the store is unreachable. From <see cref="DirectoryGauges"/>.</summary>
    public static readonly ObservableGauge<double> DirectoryAge =
        Meter.CreateObservableGauge("securemx.store.directory_age", DirectoryGauges.ObserveAge, "s", "age of the directory cache's snapshot");

    /// <summary>
    /// MTA-STS policy fetches from recipient domains' policy hosts (https://mta-sts.DOMAIN/.well-known/mta-sts.txt):
    /// when a domain's TXT id changed or nothing is cached, and the refreshes before expiry. Tag:
    /// <c>result</c> (ok, or the RFC 8460 result type: sts-policy-fetch-error, sts-policy-invalid,
    /// sts-webpki-invalid). Prometheus: <c>securemx_delivery_mta_sts_fetches_total</c>.
    /// </summary>
    public static readonly Counter<long> MtaStsFetches =
        Meter.CreateCounter<long>("securemx.delivery.mta_sts_fetches", "{fetch}", "MTA-STS policy fetches by result");
}
