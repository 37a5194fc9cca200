using SecureMx.Config;
using SecureMx.Mail;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Destination domains none of whose MX hosts could be reached a moment ago (every address refused the
/// connection, timed out or failed before its greeting and EHLO): for delivery.unreachableSuspendSeconds
/// their mail is deferred at once — "delivery temporarily suspended", with the reason the hosts gave —
/// without DNS lookups, policy reads or connections. Postfix does the same with a dead destination (its
/// failed cohort). Without it a queue of a million messages for a domain that is down costs a million
/// connection attempts each time they come due, and reception starves (bench/: accepting at 20 sessions
/// fell to about a third while a due backlog of 100 000 was retried). A host that answered and then
/// refused or failed the transaction is not unreachable; nor is a failed TLS requirement (policy, not
/// reachability). Any success to the domain ends its suspension; so does `securemx queue retry`.
/// </summary>
public sealed class UnreachableDestinations(TimeSpan period, TimeProvider time)
{
    /// <summary>Why the destination is suspended (the hosts' own failures) and until when.</summary>
    public sealed record Suspension(string Reason, DateTimeOffset Until) : IExpiring;

    private readonly ExpiringEntries<Suspension> _suspended = new(time, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// delivery.unreachableSuspendSeconds, but never longer than the first step of queue.retrySchedule: a short
    /// schedule (an operator's, or a test's) keeps its meaning, and a destination back up is tried within it.
    /// </summary>
    public static TimeSpan PeriodFor(SecureMxOptions options)
    {
        var configured = TimeSpan.FromSeconds(options.Delivery.UnreachableSuspendSeconds);
        var first = options.Queue.RetrySchedule.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return first is not null && Duration.TryParse(first, out var step) && step < configured ? step : configured;
    }

    /// <summary>Off when the period is zero: every message tries every host.</summary>
    public bool Enabled => period > TimeSpan.Zero;

    /// <summary>The destination's suspension, unless there is none or it has ended.</summary>
    /// <remarks>Asked at every delivery run: a lookup takes no lock, while "is it empty?" would take every lock of the dictionary when it is.</remarks>
    public Suspension? Find(string domain) => Enabled ? _suspended.Find(domain) : null;

    /// <summary>Every host of <paramref name="domain"/> was unreachable for the reason given: suspended for the period from now.</summary>
    public void Suspend(string domain, string reason)
    {
        if (!Enabled) return;
        _suspended.Set(domain, new Suspension(reason, time.GetUtcNow() + period));
    }

    /// <summary>A host of the destination took a transaction: it is reachable again.</summary>
    public void Reached(string domain) => _suspended.Remove(domain);

    /// <summary>The operator asked for every message to be tried now (`securemx queue retry`): no destination stays suspended.</summary>
    public void Clear() => _suspended.Clear();
}
