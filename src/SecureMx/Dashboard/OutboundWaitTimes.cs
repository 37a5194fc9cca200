using SecureMx.Config;
using SecureMx.Queue;

namespace SecureMx.Dashboard;

/// <summary>
/// What mandatory outbound TLS means for a sender when the recipient's server offers no secure TLS:
/// the message waits, a delay warning goes out after <see cref="DelayWarning"/> and it bounces after
/// <see cref="Expire"/> (queue.delayWarningAfter, queue.tlsExpireAfter), in the compact form of Duration.Format.
/// </summary>
public sealed record OutboundWaitTimes(string DelayWarning, string Expire)
{
    public static OutboundWaitTimes From(QueueTimeRules rules) => new(Duration.Format(rules.DelayWarningAfter), Duration.Format(rules.TlsExpireAfter));
}
