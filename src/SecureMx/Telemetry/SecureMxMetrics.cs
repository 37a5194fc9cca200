using System.Diagnostics.Metrics;

namespace SecureMx.Telemetry;

/// <summary>
/// The process's instruments: one <see cref="Meter"/> named <c>SecureMx</c>, read today with
/// <c>dotnet-counters monitor --counters SecureMx -n securemx</c> and by tests with a
/// <see cref="MeterListener"/>. Every instrument is declared here, so that this file is the list of
/// what SecureMx measures; the stage that observes a fact records it. Names follow the OpenTelemetry
/// convention (<c>securemx.&lt;area&gt;.&lt;what&gt;</c>, lower case, dots).
/// </summary>
public static class SecureMxMetrics
{
    public const string MeterName = "SecureMx";

    public static readonly Meter Meter = new(MeterName);

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
