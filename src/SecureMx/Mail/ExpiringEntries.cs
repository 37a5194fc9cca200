using System.Collections.Concurrent;

namespace SecureMx.Mail;

/// <summary>A value kept in memory until a time of its own.</summary>
public interface IExpiring
{
    DateTimeOffset Until { get; }
}

/// <summary>
/// Values kept in memory by key until their own <see cref="IExpiring.Until"/> (a remembered route, a kept
/// MX answer, a suspended destination): one past its time is not found. Beyond <see cref="PruneAbove"/>
/// entries the expired ones are dropped whenever one is set, so that a stream of distinct keys (every
/// destination a queue ever had) cannot grow it without end.
/// </summary>
public sealed class ExpiringEntries<T>(TimeProvider time, IEqualityComparer<string> comparer) where T : class, IExpiring
{
    public const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, T> _entries = new(comparer);

    // No IsEmpty: on an empty ConcurrentDictionary it takes every lock, while Find and Remove take none when the key's stripe is empty.

    /// <summary>Entries held, expired ones not yet dropped included (takes every lock: not for a hot path).</summary>
    public int Count => _entries.Count;

    /// <summary>The value under <paramref name="key"/>, unless there is none or its time is up.</summary>
    public T? Find(string key) => _entries.TryGetValue(key, out var value) && value.Until > time.GetUtcNow() ? value : null;

    public void Set(string key, T value)
    {
        _entries[key] = value;
        if (_entries.Count <= PruneAbove) return;
        var now = time.GetUtcNow();
        foreach (var (k, v) in _entries)
        {
            if (v.Until <= now) _entries.TryRemove(k, out _);
        }
    }

    public void Remove(string key) => _entries.TryRemove(key, out _);

    public void Clear() => _entries.Clear();
}
