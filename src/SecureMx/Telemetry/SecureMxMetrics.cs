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
}
