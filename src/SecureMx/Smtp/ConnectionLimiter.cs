using System.Net;
using SecureMx.Mail;

namespace SecureMx.Smtp;

/// <summary>
/// Counts concurrent SMTP connections overall and per client (anvil's job in Postfix): per IPv4 address
/// (an IPv4-mapped one from a dual-stack listener included) and per IPv6 /64 (<see cref="ClientAddress.LimitKey"/>).
/// </summary>
public sealed class ConnectionLimiter(int maxTotal, int maxPerIp, SessionBurstTrim? trim = null)
{
    private readonly Dictionary<IPAddress, int> _perIp = new();
    private readonly SessionBurstTrim _trim = trim ?? new SessionBurstTrim();
    private int _total;

    public int Total { get { lock (_perIp) return _total; } }

    /// <summary>Takes a slot, or returns the 421 reply that explains why none is free.</summary>
    public SmtpReply? TryAcquire(IPAddress address)
    {
        var ip = ClientAddress.LimitKey(address);
        lock (_perIp)
        {
            if (_total >= maxTotal) return SmtpReply.TooManyConnections;
            _perIp.TryGetValue(ip, out var n);
            if (n >= maxPerIp) return SmtpReply.TooManyConnectionsFromIp;
            _perIp[ip] = n + 1;
            _total++;
            _trim.Opened(_total);
            return null;
        }
    }

    public void Release(IPAddress address)
    {
        var ip = ClientAddress.LimitKey(address);
        bool burstOver;
        lock (_perIp)
        {
            _total--;
            if (_perIp.TryGetValue(ip, out var n) && n > 1) _perIp[ip] = n - 1;
            else _perIp.Remove(ip);
            burstOver = _trim.Closed(_total);
        }
        if (burstOver) _ = _trim.Run();
    }
}
