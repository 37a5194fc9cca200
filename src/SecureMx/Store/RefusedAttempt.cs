using SecureMx.Mail;

namespace SecureMx.Store;

/// <summary>
/// One RCPT refused for inbound mandatory TLS, from the session log: when, on which node, the sending
/// host (IP, HELO, forward-confirmed reverse name when known), the envelope, the TLS the session had
/// and the reply it got.
/// </summary>
/// <param name="MailFrom">The envelope sender ("" for the null sender; null when the row predates the column).</param>
public sealed record RefusedAttempt(DateTimeOffset At, string Node, string ClientIp, string? Helo, string? ReverseName, string? MailFrom,
    string Recipient, string? TlsProtocol, string? TlsCipher, string Reply)
{
    /// <summary>What the session lacked; <see cref="TlsShortfall.NoTls"/> also for a row whose TLS would pass (never written for a mandatory_tls refusal).</summary>
    public TlsShortfall Lacked => TlsShortfalls.Of(TlsProtocol, TlsCipher) ?? TlsShortfall.NoTls;
}

/// <summary>Refused attempts per sending host: how many, the latest HELO and reverse name it had, when last.</summary>
public sealed record RefusedSendingHost(string ClientIp, string? Helo, string? ReverseName, long Attempts, DateTimeOffset LastSeen);

/// <summary>All refused attempts of a window and the distinct sending hosts they came from.</summary>
public sealed record RefusedTotals(long Hosts, long Attempts)
{
    /// <summary>The hosts beyond the <paramref name="shown"/> counted one by one ("N more hosts").</summary>
    public long MoreHosts(int shown) => Math.Max(0, Hosts - shown);
}
