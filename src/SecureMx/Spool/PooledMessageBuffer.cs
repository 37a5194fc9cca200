using System.Buffers;

namespace SecureMx.Spool;

/// <summary>
/// The bytes of a message held in memory: segments rented from <see cref="ArrayPool{T}.Shared"/>, growing
/// from 4 KiB to at most 64 KiB each (below the large object heap's 85 000 bytes: no LOH churn), every
/// segment reserved in a <see cref="SpoolMemoryBudget"/> first. <see cref="TryWrite"/> takes all of a
/// write or none of it, so that the caller can spill what is here plus that write to a file. Disposing
/// returns the segments to the pool and the budget; safe to call twice.
/// </summary>
internal sealed class PooledMessageBuffer(SpoolMemoryBudget budget) : IDisposable
{
    private const int FirstSegment = 4 * 1024;
    private const int LargestSegment = 64 * 1024;

    private readonly List<byte[]> _segments = new(4);
    private long _capacity;

    public long Length { get; private set; }

    /// <summary>The bytes written, in order.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Segments
    {
        get
        {
            // Segments past the end (rented by a write that then did not fit) are left out.
            long left = Length;
            for (int i = 0; i < _segments.Count && left > 0; i++)
            {
                int n = (int)Math.Min(left, _segments[i].Length);
                yield return _segments[i].AsMemory(0, n);
                left -= n;
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="data"/>; false when the whole would pass <paramref name="limit"/> bytes or the
    /// budget has no room for another segment: then nothing of it is written.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> data, long limit)
    {
        if (Length + data.Length > limit) return false;
        while (_capacity < Length + data.Length)
        {
            int size = (int)Math.Clamp(_capacity, FirstSegment, LargestSegment);
            if (!budget.TryReserve(size)) return false;
            var segment = ArrayPool<byte>.Shared.Rent(size);
            if (segment.Length != size)
            {
                // The pool may hand out a larger array: what is reserved is what is held.
                budget.Release(size);
                if (!budget.TryReserve(segment.Length))
                {
                    ArrayPool<byte>.Shared.Return(segment);
                    return false;
                }
            }
            _segments.Add(segment);
            _capacity += segment.Length;
        }
        while (!data.IsEmpty)
        {
            // The first segment with room: the last filled one, or the next (empty) one.
            int index = SegmentAt(Length, out int offset);
            var segment = _segments[index];
            int n = Math.Min(segment.Length - offset, data.Length);
            data[..n].CopyTo(segment.AsSpan(offset));
            data = data[n..];
            Length += n;
        }
        return true;
    }

    private int SegmentAt(long position, out int offset)
    {
        for (int i = 0; i < _segments.Count; i++)
        {
            if (position < _segments[i].Length)
            {
                offset = (int)position;
                return i;
            }
            position -= _segments[i].Length;
        }
        throw new InvalidOperationException("no room reserved");
    }

    public void Dispose()
    {
        foreach (var segment in _segments)
        {
            budget.Release(segment.Length);
            ArrayPool<byte>.Shared.Return(segment);
        }
        _segments.Clear();
        _capacity = 0;
        Length = 0;
    }
}
