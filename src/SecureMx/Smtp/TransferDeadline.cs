using System.Globalization;

namespace SecureMx.Smtp;

/// <summary>
/// The time limits of one message transfer — the content after DATA's 354, or every BDAT chunk of one
/// message from the first to LAST, the time between chunks included: at most <c>limits.maxTransferSeconds</c>
/// in all and, after the first minute, an average of at least <c>limits.minTransferBytesPerSecond</c>.
/// The stall timeout (<c>limits.dataTimeoutSeconds</c>) only bounds the gap between two reads; a client
/// dripping one byte just inside it would otherwise hold its connection and its spool file for ever
/// (DATA-phase slowloris). The rate rule is a deadline that every octet received moves on by
/// 1/minimum seconds, as Postfix's smtpd_min_data_rate does, never earlier than the first minute:
/// a slow but honest link keeps its transfer alive, a drip does not.
/// </summary>
public sealed class TransferDeadline
{
    /// <summary>The start of a transfer in which the rate is not judged yet (TCP slow start, a client's first burst).</summary>
    public static readonly TimeSpan RateGrace = TimeSpan.FromMinutes(1);

    /// <summary>How much later than the deadline a wait for it ends (see <see cref="NextWait"/>).</summary>
    private const int TimerSlackMilliseconds = 8;

    private readonly TimeProvider _time;
    private readonly DateTimeOffset _start;
    private readonly int _maxSeconds;
    private readonly int _minBytesPerSecond;

    /// <param name="maxSeconds">The whole transfer's limit; 0: none.</param>
    /// <param name="minBytesPerSecond">The average rate needed after <see cref="RateGrace"/>; 0: none.</param>
    public TransferDeadline(TimeProvider time, int maxSeconds, int minBytesPerSecond)
    {
        _time = time;
        _start = time.GetUtcNow();
        _maxSeconds = maxSeconds;
        _minBytesPerSecond = minBytesPerSecond;
    }

    /// <summary>Octets received so far (as sent, before dot-unstuffing).</summary>
    public long Bytes { get; private set; }

    public void Count(long bytes) => Bytes += bytes;

    public TimeSpan Elapsed => _time.GetUtcNow() - _start;

    /// <summary>How long the transfer may still wait for its next bytes: never past the stall timeout nor past the deadline.</summary>
    public TimeSpan NextWait(TimeSpan stallTimeout)
    {
        var allowed = Allowed();
        if (allowed == TimeSpan.MaxValue) return stallTimeout;
        var left = allowed - Elapsed;
        if (left <= TimeSpan.Zero) return TimeSpan.Zero;
        // The wait must not end before the deadline by the clock Exceeded() reads (else the cut would be
        // taken for a stall): timers count whole milliseconds on the runtime's tick count, which on Linux may
        // move in steps of a scheduler tick (4 ms at 250 Hz) against the wall clock — round up, and pad past a tick.
        left = TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds) + TimerSlackMilliseconds);
        return left < stallTimeout ? left : stallTimeout;
    }

    /// <summary>Why the transfer is over its limits, in words for the reply and the logs; null while it is within them.</summary>
    public string? Exceeded()
    {
        var elapsed = Elapsed;
        if (elapsed < Allowed()) return null;
        if (_maxSeconds > 0 && elapsed >= TimeSpan.FromSeconds(_maxSeconds))
        {
            return string.Create(CultureInfo.InvariantCulture, $"message transfer took longer than {_maxSeconds} s");
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"message transfer too slow: {Bytes} octets in {elapsed.TotalSeconds:0} s, at least {_minBytesPerSecond} octets/s are needed after the first minute");
    }

    /// <summary>The time the transfer may take with the bytes it has sent so far.</summary>
    private TimeSpan Allowed()
    {
        var allowed = _maxSeconds > 0 ? TimeSpan.FromSeconds(_maxSeconds) : TimeSpan.MaxValue;
        if (_minBytesPerSecond > 0)
        {
            // Capped far beyond any real transfer, so that no count of bytes overflows a TimeSpan.
            var byRate = TimeSpan.FromSeconds(Math.Clamp((double)Bytes / _minBytesPerSecond, RateGrace.TotalSeconds, 1e9));
            if (byRate < allowed) allowed = byRate;
        }
        return allowed;
    }
}
