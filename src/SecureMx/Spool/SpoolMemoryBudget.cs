namespace SecureMx.Spool;

/// <summary>
/// The cap on the memory that messages still arriving may hold (<see cref="SpoolFile"/> keeps a small
/// message in pooled buffers instead of a file in <c>spool/incoming/</c>). Each buffer is reserved here
/// before it is rented; once the cap is reached, further messages spill to files, so that many
/// sessions sending large messages at once (a hostile client among them) cannot make the server hold
/// more than this. Thread-safe.
/// </summary>
public sealed class SpoolMemoryBudget(long capacity)
{
    /// <summary>
    /// 32 MiB: 250 sessions each at <see cref="MessageSpool.MemoryLimit"/> (128 KiB), or thousands of
    /// sessions with typical small messages; beyond it a message costs a file as before, not memory.
    /// </summary>
    public const long DefaultCapacity = 32L * 1024 * 1024;

    private long _held;

    public long Capacity { get; } = capacity;

    /// <summary>Bytes held by messages in memory now.</summary>
    public long Held => Interlocked.Read(ref _held);

    /// <summary>Reserves <paramref name="bytes"/>; false (and nothing reserved) when that would pass the cap.</summary>
    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _held, bytes) <= Capacity) return true;
        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);
}
