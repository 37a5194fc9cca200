using SecureMx.Mail;

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

    public sealed record Answer(IReadOnlyList<(string Exchange, int Preference)> Records, DnsSecurity Security, DateTimeOffset Until) : IExpiring;

    private readonly ExpiringEntries<Answer> _answers = new(time, StringComparer.OrdinalIgnoreCase);

    /// <summary>The answer kept for <paramref name="domain"/>, unless there is none or its time is up.</summary>
    public Answer? Find(string domain) => _answers.Find(Key(domain));

    /// <summary>Keeps an answer with records for the smallest TTL among them (at most <see cref="MaxLifetime"/>); a TTL of 0 is not kept.</summary>
    public void Keep(string domain, IReadOnlyList<(string Exchange, int Preference)> records, DnsSecurity security, TimeSpan ttl)
    {
        if (records.Count == 0 || ttl <= TimeSpan.Zero) return;
        _answers.Set(Key(domain), new Answer(records, security, time.GetUtcNow() + (ttl < MaxLifetime ? ttl : MaxLifetime)));
    }

    private static string Key(string domain) => domain.TrimEnd('.');
}
