using Microsoft.Extensions.Time.Testing;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are still waiting and when they
/// are due, so that a test can move the clock from one timer to the next (a discrete-event
/// simulation) instead of guessing step sizes: code that waits with
/// <c>Task.Delay(wait, timeProvider)</c> then wakes at exactly the time it asked for, and a test
/// can tell "the code under test is waiting for time to pass" from "it is still busy".
/// </summary>
public sealed class SteppingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _lock = new();

    // Creating a timer and moving the clock exclude each other: a timer armed by another thread while
    // the clock moves would otherwise compute its due time from the old "now" in the bookkeeping and
    // from the new one in the fake timer, and never fire where the test expects it.
    private readonly Lock _clockGate = new();
    private readonly List<TrackedTimer> _pending = [];
    private long _sequence;

    /// <summary>Timers created so far (each <c>Task.Delay</c> creates one).</summary>
    public long TimersCreated => Interlocked.Read(ref _sequence);

    /// <summary>Timers that are armed and have not fired yet (periodic ones stay armed).</summary>
    public int PendingCount
    {
        get { lock (_lock) return _pending.Count; }
    }

    /// <summary>Armed one-shot timers (e.g. of <c>Task.Delay</c>): code waiting for time to pass.</summary>
    public int PendingOneShotCount
    {
        get { lock (_lock) return _pending.Count(t => !t.IsPeriodic); }
    }

    /// <summary>Every armed timer, first due first (for a test's diagnostics).</summary>
    public IReadOnlyList<TrackedTimer> Pending
    {
        get { lock (_lock) return [.. InFiringOrder()]; }
    }

    /// <summary>The armed timer that fires first (the oldest among equals); null when nothing waits.</summary>
    public TrackedTimer? NextPending
    {
        get
        {
            lock (_lock)
            {
                return InFiringOrder().FirstOrDefault();
            }
        }
    }

    /// <summary>Under <c>_lock</c>: the armed timers as they fire, the oldest first among equals.</summary>
    private IEnumerable<TrackedTimer> InFiringOrder() => _pending.OrderBy(t => t.Due).ThenBy(t => t.Sequence);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new TrackedTimer(this, Interlocked.Increment(ref _sequence));
        lock (_clockGate)
        {
            tracked.Arm(dueTime, period);
            tracked.Inner = base.CreateTimer(s =>
            {
                tracked.OnFire();
                callback(s);
            }, state, dueTime, period);
        }
        return tracked;
    }

    /// <summary>Moves the clock (firing what is due), never while another thread is arming a timer.</summary>
    public void MoveTo(DateTimeOffset time)
    {
        lock (_clockGate) SetUtcNow(time);
    }

    private void Track(TrackedTimer timer, bool pending)
    {
        lock (_lock)
        {
            _pending.Remove(timer);
            if (pending) _pending.Add(timer);
        }
    }

    /// <summary>One timer of the provider: forwards to the fake timer and keeps the bookkeeping.</summary>
    public sealed class TrackedTimer : ITimer
    {
        private readonly SteppingTimeProvider _owner;
        private TimeSpan _period;
        private int _fired;

        internal TrackedTimer(SteppingTimeProvider owner, long sequence)
        {
            _owner = owner;
            Sequence = sequence;
        }

        internal ITimer? Inner { get; set; }

        public long Sequence { get; }

        /// <summary>When the timer fires (clock time).</summary>
        public DateTimeOffset Due { get; private set; }

        /// <summary>Fires again every period until disposed.</summary>
        public bool IsPeriodic => _period != Timeout.InfiniteTimeSpan && _period != TimeSpan.Zero;

        /// <summary>True once a one-shot timer has fired.</summary>
        public bool HasFired => Volatile.Read(ref _fired) == 1;

        internal void Arm(TimeSpan dueTime, TimeSpan period)
        {
            _period = period;
            bool armed = dueTime != Timeout.InfiniteTimeSpan;
            if (armed) Due = _owner.GetUtcNow() + dueTime;
            _owner.Track(this, armed);
        }

        internal void OnFire()
        {
            if (!IsPeriodic)
            {
                Volatile.Write(ref _fired, 1);
                _owner.Track(this, pending: false);
            }
            else
            {
                Due += _period;
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_owner._clockGate)
            {
                Arm(dueTime, period);
                return Inner?.Change(dueTime, period) ?? false;
            }
        }

        public void Dispose()
        {
            _owner.Track(this, pending: false);
            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            _owner.Track(this, pending: false);
            return Inner?.DisposeAsync() ?? ValueTask.CompletedTask;
        }
    }
}
