namespace SecureMx.Spool;

/// <summary>
/// The write operations waiting for the queue's writer thread: any thread adds, the one writer takes
/// everything that piled up as its next group commit. An empty backlog puts the writer to sleep on a
/// monitor without spinning: <c>BlockingCollection.Take</c> spun in <c>SemaphoreSlim</c> before it
/// slept, three sched_yield(2) calls per accepted message at 20 sessions, on a machine whose cores the
/// SMTP sessions need.
/// </summary>
internal sealed class QueueWriteBacklog<T>
{
    private readonly object _gate = new();
    private readonly Queue<T> _items = new();
    private bool _completed;

    /// <summary>False once <see cref="Complete"/> has been called: the writer takes nothing new.</summary>
    public bool TryAdd(T item)
    {
        lock (_gate)
        {
            if (_completed) return false;
            _items.Enqueue(item);
            // The writer waits only when it found the backlog empty: wake it for the first item.
            if (_items.Count == 1) Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>
    /// Waits until there is at least one operation, then moves up to <paramref name="max"/> of them into
    /// <paramref name="batch"/>. False when the backlog is completed and empty: the writer ends.
    /// </summary>
    public bool TakeBatch(List<T> batch, int max)
    {
        lock (_gate)
        {
            while (_items.Count == 0)
            {
                if (_completed) return false;
                Monitor.Wait(_gate);
            }
            while (batch.Count < max && _items.TryDequeue(out var item)) batch.Add(item);
            return true;
        }
    }

    /// <summary>No more additions; the writer still takes what is queued, then ends.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    public bool IsCompleted
    {
        get { lock (_gate) return _completed && _items.Count == 0; }
    }
}
