using SecureMx.Policy;

namespace SecureMx.Queue;

/// <summary>
/// A recipient that waits only because no server met its TLS requirement (deferred with 4.7.4 or
/// 4.7.5 and the effective level appended). The queue keeps only the error text, so the text is
/// both how such a wait is written and how it is recognised later (the dashboard's queue page);
/// such recipients expire after queue.tlsExpireAfter instead of queue.expireAfter (DESIGN.md §1).
/// </summary>
public static class TlsWait
{
    private const string LevelMarker = " (TLS level ";

    /// <summary>The queue's last error for a TLS wait: the delivery summary and the level that was not met.</summary>
    public static string Error(string summary, EffectiveTlsPolicy policy) => $"{summary}{LevelMarker}{policy})";

    /// <summary>True when <paramref name="lastError"/> was written by <see cref="Error"/> for a 4.7.4/4.7.5 deferral.</summary>
    public static bool IsTlsWait(string? lastError) =>
        lastError is not null
        && (lastError.StartsWith("4.7.4 ", StringComparison.Ordinal) || lastError.StartsWith("4.7.5 ", StringComparison.Ordinal))
        && lastError.EndsWith("))", StringComparison.Ordinal)
        && lastError.Contains(LevelMarker, StringComparison.Ordinal);

    /// <summary>
    /// When a waiting recipient of a message received at <paramref name="receivedAt"/> gives up: a TLS
    /// wait at tlsExpireAfter, but never later than queue.expireAfter, which ends every wait.
    /// </summary>
    public static DateTimeOffset ExpiresAt(DateTimeOffset receivedAt, bool tlsWait, TimeSpan expireAfter, TimeSpan tlsExpireAfter) =>
        receivedAt + (tlsWait && tlsExpireAfter < expireAfter ? tlsExpireAfter : expireAfter);
}
