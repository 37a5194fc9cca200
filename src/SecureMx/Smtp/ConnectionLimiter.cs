using System.Net;
using SecureMx.Mail;

namespace SecureMx.Smtp;

/// <summary>
/// Counts concurrent SMTP connections overall and per client (anvil's job in Postfix): per IPv4 address
/// (an IPv4-mapped one from a dual-stack listener included) and per IPv6 /64 (<see cref="ClientAddress.LimitKey"/>).
/// Also the listeners' room: every accepted connection, a refused one too until its 421 is out, holds a
/// descriptor, so together the listeners hold at most <paramref name="maxTotal"/> sessions and
/// <paramref name="refusalAllowance"/> refusals; further clients wait in the kernel's listen queue.
/// </summary>
public sealed class ConnectionLimiter(int maxTotal, int maxPerIp, SessionBurstTrim? trim = null, int refusalAllowance = ConnectionLimiter.DefaultRefusalAllowance)
{
    /// <summary>
    /// Connections being refused at once besides the sessions. A refusal is over in microseconds in plain text,
    /// but on the implicit-TLS port it waits for a handshake, so a flood there must not hold descriptors unbounded.
    /// </summary>
    public const int DefaultRefusalAllowance = 64;

    private readonly Dictionary<IPAddress, int> _perIp = new();
    private readonly SessionBurstTrim _trim = trim ?? new SessionBurstTrim();
    private readonly SemaphoreSlim _room = new((int)Math.Min((long)maxTotal + Math.Max(0, refusalAllowance), int.MaxValue));
    private int _total;
    private int _refusing;

    public int Total { get { lock (_perIp) return _total; } }

    /// <summary>The sessions served at once at most (limits.maxConnections, or less where the open-file limit has no room).</summary>
    public int MaxTotal => maxTotal;

    /// <summary>Connections being refused at once besides the sessions.</summary>
    public int RefusalAllowance => refusalAllowance;

    /// <summary>Takes room for a connection about to be accepted if there is some now.</summary>
    public bool TryEnter() => _room.Wait(0);

    /// <summary>Waits for room for a connection about to be accepted (false: cancelled).</summary>
    public async Task<bool> EnterAsync(CancellationToken ct)
    {
        try
        {
            await _room.WaitAsync(ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A connection that had room closed (or was never accepted).</summary>
    public void Leave() => _room.Release();

    /// <summary>
    /// More than half of <see cref="RefusalAllowance"/> is being refused now: a refusal that would wait for a TLS
    /// handshake before its 421 is closed at once instead, so that a flood on the implicit-TLS port (one client
    /// over its per-address limit, say) cannot hold the room the sessions need.
    /// </summary>
    public bool RefusalsCrowded => Volatile.Read(ref _refusing) > refusalAllowance / 2;

    /// <summary>A connection refused by <see cref="TryAcquire"/> has been answered or closed.</summary>
    public void RefusalEnded() => Interlocked.Decrement(ref _refusing);

    /// <summary>Takes a slot, or returns the 421 reply that explains why none is free (then <see cref="RefusalEnded"/> once it is out).</summary>
    public SmtpReply? TryAcquire(IPAddress address)
    {
        var ip = ClientAddress.LimitKey(address);
        lock (_perIp)
        {
            if (_total >= maxTotal) return Refusing(SmtpReply.TooManyConnections);
            _perIp.TryGetValue(ip, out var n);
            if (n >= maxPerIp) return Refusing(SmtpReply.TooManyConnectionsFromIp);
            _perIp[ip] = n + 1;
            _total++;
            _trim.Opened(_total);
            return null;
        }
    }

    private SmtpReply Refusing(SmtpReply reply)
    {
        Interlocked.Increment(ref _refusing);
        return reply;
    }

    /// <summary>A session that took a slot ended.</summary>
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
