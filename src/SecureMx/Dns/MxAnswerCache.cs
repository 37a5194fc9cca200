using System.Collections.Concurrent;

namespace SecureMx.Dns;

/// <summary>
/// MX answers with records, kept in the process for their TTL and at most <see cref="MaxLifetime"/>, with the
/// DNSSEC status they came with. A queue draining to one domain asked the resolver once per message: a UDP
/// round trip on our side and the resolver's, a tenth of the outbound drain's CPU on two cores (bench/). The
/// records are kept, not the resolution: hosts of equal preference are shuffled afresh for every message.
/// Failures, NXDOMAIN and answers without records are not kept: they are asked again at the next attempt.
/// Every other question (addresses, TLSA, TXT) goes to the resolver each time.
/// </summary>
public sealed class MxAnswerCache(TimeProvider time)
{
    /// <summary>The longest an answer is kept, whatever its TTL: a changed MX record is seen within a minute.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(1);

    /// <summary>Beyond this many domains, expired answers are dropped when a new one is kept.</summary>
    private const int PruneAbove = 10_000;

    public sealed record Answer(IReadOnlyList<(string Exchange, int Preference)> Records, DnsSecurity Security, DateTimeOffset Until);

    private readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The answer kept for <paramref name="domain"/>, unless there is none or its time is up.</summary>
    public Answer? Find(string domain) =>
        _answers.TryGetValue(Key(domain), out var a) && a.Until > time.GetUtcNow() ? a : null;

    /// <summary>Keeps an answer with records for the smallest TTL among them (at most <see cref="MaxLifetime"/>); a TTL of 0 is not kept.</summary>
    public void Keep(string domain, IReadOnlyList<(string Exchange, int Preference)> records, DnsSecurity security, TimeSpan ttl)
    {
        if (records.Count == 0 || ttl <= TimeSpan.Zero) return;
        var now = time.GetUtcNow();
        _answers[Key(domain)] = new Answer(records, security, now + (ttl < MaxLifetime ? ttl : MaxLifetime));
        if (_answers.Count > PruneAbove)
        {
            foreach (var (d, a) in _answers)
            {
                if (a.Until <= now) _answers.TryRemove(d, out _);
            }
        }
    }

    private static string Key(string domain) => domain.TrimEnd('.');
}
