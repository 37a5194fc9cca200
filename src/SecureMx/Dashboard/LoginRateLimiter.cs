using System.Threading.RateLimiting;
using SecureMx.Mail;

namespace SecureMx.Dashboard;

/// <summary>
/// Login attempts per client (an IPv4 address, or an IPv6 /64: <see cref="ClientAddress.LimitKey(string)"/>) and minute, right or wrong. Each attempt costs a password
/// hash (a tenth of a second of a core); this caps what one address can make the server spend.
/// Failed logins are in addition counted by the shared <see cref="Auth.LoginThrottle"/>.
/// </summary>
public sealed class LoginRateLimiter(int attemptsPerMinute) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(ip =>
        RateLimitPartition.GetFixedWindowLimiter(ip, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = attemptsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    /// <summary>True when the address may try once more now.</summary>
    public bool TryAcquire(string clientIp)
    {
        using var lease = _limiter.AttemptAcquire(ClientAddress.LimitKey(clientIp));
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
